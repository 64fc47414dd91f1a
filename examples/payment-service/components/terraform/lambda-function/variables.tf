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
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

# --- Lambda function ---------------------------------------------------------

variable "name" {
  type        = string
  description = "Function name (without the namespace and stage prefix)."
}

variable "runtime" {
  type        = string
  description = "Lambda runtime."
  default     = "nodejs20.x"
}

variable "handler" {
  type        = string
  description = "Entry point, <file>.<export>."
  default     = "index.handler"
}

variable "package_path" {
  type        = string
  description = "The deployment package (a zip archive), relative to the working directory: the zip component's `path`."
}

variable "package_hash" {
  type        = string
  description = "base64 sha256 of the package (Terraform's filebase64sha256): the zip component's `base64sha256`."
}
