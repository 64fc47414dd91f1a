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

# --- ECS service -------------------------------------------------------------

variable "name" {
  type        = string
  description = "Service name (without namespace and stage)."
  default     = "service"
}

variable "cluster_name" {
  type        = string
  description = "ECS cluster the service runs in (AWS's own default cluster is named `default`)."
  default     = "default"
}

variable "image" {
  type        = string
  description = "Container image reference; bound from the nixpack component with the same labels (empty: none bound, as in the PRD's quick start, which names this component without configuring it)."
  default     = ""
}

variable "ecr_repository_url" {
  type        = string
  description = "ECR repository the task execution role may pull from (empty: none)."
  default     = ""
}

variable "cpu" {
  type        = number
  description = "Task CPU units (target context)."
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "memory" {
  type        = number
  description = "Task memory in MiB (target context)."
  default     = 512

  validation {
    condition     = var.memory >= 512
    error_message = "memory must be at least 512 MiB."
  }
}

variable "replicas" {
  type        = number
  description = "Desired task count (target context)."
  default     = 1

  validation {
    condition     = var.replicas >= 0 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a non-negative integer."
  }
}

variable "container_port" {
  type        = number
  description = "Port the container listens on."
  default     = 8080
}

variable "health_check_path" {
  type        = string
  description = "HTTP path of the load balancer health check."
  default     = "/healthz"
}

variable "log_retention_days" {
  type        = number
  description = "CloudWatch log retention in days."
  default     = 14
}

variable "environment_variables" {
  type        = map(string)
  description = "Plain environment variables of the container."
  default     = {}
}
