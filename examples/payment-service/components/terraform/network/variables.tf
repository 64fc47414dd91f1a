# --- Context shared by every component (set by the stacks) -----------------

variable "namespace" {
  type        = string
  description = "Organization namespace, e.g. `acme`."
  default     = "acme"
}

variable "environment" {
  type        = string
  description = "Short region code (null-label environment), e.g. `ue1`."
  default     = "ue1"
}

variable "stage" {
  type        = string
  description = "Stage / account name, e.g. `dev`, `staging`, `prod`."
  default     = "dev"
}

variable "region" {
  type        = string
  description = "AWS region the component belongs to."
  default     = "us-east-1"
}

variable "account_id" {
  type        = string
  description = "12-digit AWS account id of the stage."
  default     = "000000000000"

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

# --- Network -----------------------------------------------------------------

variable "name" {
  type        = string
  description = "VPC name (without namespace and stage)."
  default     = "main"
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR block of the VPC."
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be a valid IPv4 CIDR block."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones to create one public and one private subnet in."
  default     = ["us-east-1a", "us-east-1b"]

  validation {
    condition     = length(var.availability_zones) > 0 && length(var.availability_zones) <= 6
    error_message = "Between 1 and 6 availability zones are supported."
  }
}

variable "subnet_newbits" {
  type        = number
  description = "Bits added to the VPC prefix length for each subnet (4: /16 -> /20)."
  default     = 4
}

variable "nat_gateway_enabled" {
  type        = bool
  description = "Create one NAT gateway per availability zone (target context)."
  default     = false
}
