# Offline by design: only the built-in `terraform_data` resource is used, so
# `terraform init` downloads nothing.
terraform {
  required_version = ">= 1.5.0"
}
