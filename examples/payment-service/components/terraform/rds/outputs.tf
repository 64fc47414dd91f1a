output "identifier" {
  description = "Instance identifier (<namespace>-<stage>-<name>)."
  value       = terraform_data.instance.output.identifier
}

output "endpoint" {
  description = "Connection endpoint (host:port)."
  value       = terraform_data.instance.output.endpoint
}
