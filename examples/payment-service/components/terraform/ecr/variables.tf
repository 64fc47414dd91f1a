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

# --- ECR repository ----------------------------------------------------------

variable "name" {
  type        = string
  description = "Repository name (without the namespace prefix)."

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", var.name))
    error_message = "name must be a lowercase ECR repository name."
  }
}

variable "image_tag_mutability" {
  type        = string
  description = "MUTABLE or IMMUTABLE tags."
  default     = "IMMUTABLE"

  validation {
    condition     = contains(["MUTABLE", "IMMUTABLE"], var.image_tag_mutability)
    error_message = "image_tag_mutability must be MUTABLE or IMMUTABLE."
  }
}

variable "scan_on_push" {
  type        = bool
  description = "Scan images for vulnerabilities when they are pushed."
  default     = true
}

variable "max_image_count" {
  type        = number
  description = "Lifecycle policy: number of images to keep."
  default     = 30
}
