output "repository_name" {
  description = "Repository name, including the namespace."
  value       = terraform_data.repository.output.name
}

output "repository_url" {
  description = "Registry URL of the repository (<account>.dkr.ecr.<region>.amazonaws.com/<name>)."
  value       = terraform_data.repository.output.url
}

output "repository_arn" {
  description = "ARN of the repository."
  value       = terraform_data.repository.output.arn
}

output "lifecycle_policy" {
  description = "Lifecycle policy document (JSON)."
  value       = terraform_data.repository.output.lifecycle_policy
}
