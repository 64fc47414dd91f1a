locals {
  identifier = "${var.namespace}-${var.stage}-${var.name}"
  tags       = merge(var.tags, { Name = local.identifier })
}

# Stands in for aws_db_instance: records the instance's settings in state.
resource "terraform_data" "instance" {
  input = {
    identifier        = local.identifier
    engine            = var.engine
    engine_version    = var.engine_version
    instance_class    = var.instance_class
    allocated_storage = var.allocated_storage
    endpoint          = "${local.identifier}.${var.region}.rds.amazonaws.com:5432"
    tags              = local.tags
  }
}
