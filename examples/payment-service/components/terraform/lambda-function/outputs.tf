output "function_name" {
  description = "Function name (<namespace>-<stage>-<name>)."
  value       = terraform_data.function.output.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = terraform_data.function.output.arn
}

output "source_code_hash" {
  description = "base64 sha256 of the deployed package."
  value       = terraform_data.function.output.source_code_hash
}
