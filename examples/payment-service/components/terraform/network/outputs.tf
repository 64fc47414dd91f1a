output "vpc_id" {
  description = "ID of the VPC."
  value       = terraform_data.vpc.output.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = terraform_data.vpc.output.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnet IDs, in availability-zone order."
  value       = [for az in var.availability_zones : terraform_data.subnet["public-${az}"].output.id]
}

output "private_subnet_ids" {
  description = "Private subnet IDs, in availability-zone order."
  value       = [for az in var.availability_zones : terraform_data.subnet["private-${az}"].output.id]
}

output "public_subnet_cidrs" {
  description = "Public subnet CIDR blocks, in availability-zone order."
  value       = [for az in var.availability_zones : local.public_subnets[az]]
}

output "private_subnet_cidrs" {
  description = "Private subnet CIDR blocks, in availability-zone order."
  value       = [for az in var.availability_zones : local.private_subnets[az]]
}

output "nat_gateway_ids" {
  description = "NAT gateway IDs (empty when nat_gateway_enabled is false)."
  value       = [for az in var.availability_zones : terraform_data.nat_gateway[az].output.id if var.nat_gateway_enabled]
}
