output "service_name" {
  description = "Name of the ECS service."
  value       = terraform_data.service.output.name
}

output "cluster_name" {
  description = "Cluster the service runs in."
  value       = terraform_data.service.output.cluster
}

output "desired_count" {
  description = "Desired number of tasks."
  value       = terraform_data.service.output.desired_count
}

output "image" {
  description = "Image the service runs."
  value       = var.image
}

output "task_definition_family" {
  description = "Task definition family."
  value       = terraform_data.task_definition.output.family
}

output "task_definition_revision" {
  description = "Content hash of the container definitions (changes with image, cpu, memory, env)."
  value       = terraform_data.service.output.revision
}

output "service_url" {
  description = "Service-discovery URL inside the cluster."
  value       = "http://${local.service_name}.${var.cluster_name}.internal:${var.container_port}"
}
