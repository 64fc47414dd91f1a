# --- Context shared by every component (set by the stacks) -----------------

variable "namespace" {
  type        = string
  description = "Organization namespace, e.g. `acme`."
  default     = "acme"
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

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

# --- RDS instance ------------------------------------------------------------
# Every variable has a default: the PRD's quick start names this component
# without configuring it (test/prd/quick-start.test.ts).

variable "name" {
  type        = string
  description = "Database identifier (without namespace and stage)."
  default     = "db"
}

variable "engine" {
  type        = string
  description = "Database engine."
  default     = "postgres"
}

variable "engine_version" {
  type        = string
  description = "Engine version."
  default     = "16"
}

variable "instance_class" {
  type        = string
  description = "Instance class."
  default     = "db.t4g.micro"
}

variable "allocated_storage" {
  type        = number
  description = "Storage in GiB."
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20
    error_message = "allocated_storage must be at least 20 GiB."
  }
}
