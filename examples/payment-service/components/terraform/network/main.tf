locals {
  vpc_name = "${var.namespace}-${var.environment}-${var.stage}-${var.name}"
  vpc_id   = "vpc-${substr(sha1("${var.account_id}/${var.region}/${local.vpc_name}"), 0, 17)}"
  az_count = length(var.availability_zones)

  public_subnets = {
    for i, az in var.availability_zones : az => cidrsubnet(var.cidr_block, var.subnet_newbits, i)
  }
  private_subnets = {
    for i, az in var.availability_zones : az => cidrsubnet(var.cidr_block, var.subnet_newbits, i + local.az_count)
  }

  tags = merge(var.tags, { Name = local.vpc_name })
}

# Stands in for aws_vpc.
resource "terraform_data" "vpc" {
  input = {
    id         = local.vpc_id
    name       = local.vpc_name
    cidr_block = var.cidr_block
    tags       = local.tags
  }
}

# Stands in for aws_subnet (one public and one private per availability zone).
resource "terraform_data" "subnet" {
  for_each = merge(
    { for az, cidr in local.public_subnets : "public-${az}" => { az = az, cidr = cidr, tier = "public" } },
    { for az, cidr in local.private_subnets : "private-${az}" => { az = az, cidr = cidr, tier = "private" } },
  )

  input = {
    id     = "subnet-${substr(sha1("${local.vpc_id}/${each.key}"), 0, 17)}"
    vpc_id = terraform_data.vpc.output.id
    az     = each.value.az
    cidr   = each.value.cidr
    tier   = each.value.tier
  }
}

# Stands in for aws_nat_gateway.
resource "terraform_data" "nat_gateway" {
  for_each = var.nat_gateway_enabled ? local.public_subnets : {}

  input = {
    id        = "nat-${substr(sha1("${local.vpc_id}/${each.key}"), 0, 17)}"
    subnet_id = terraform_data.subnet["public-${each.key}"].output.id
  }
}
