locals {
  service_name = "${var.namespace}-${var.stage}-${var.name}"
  family       = local.service_name

  container_environment = [
    for k in sort(keys(var.environment_variables)) : { name = k, value = var.environment_variables[k] }
  ]

  container_definitions = jsonencode([{
    name      = var.name
    image     = var.image
    cpu       = var.cpu
    memory    = var.memory
    essential = true
    portMappings = [{
      containerPort = var.container_port
      protocol      = "tcp"
    }]
    environment = concat(local.container_environment, [{ name = "PORT", value = tostring(var.container_port) }])
    healthCheck = {
      command  = ["CMD-SHELL", "wget -qO- http://127.0.0.1:${var.container_port}${var.health_check_path} || exit 1"]
      interval = 30
      retries  = 3
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = "/ecs/${local.service_name}"
        awslogs-region        = var.region
        awslogs-stream-prefix = var.name
      }
    }
  }])

  tags = merge(var.tags, { Name = local.service_name })
}

# Stands in for aws_ecs_task_definition.
resource "terraform_data" "task_definition" {
  input = {
    family                = local.family
    cpu                   = tostring(var.cpu)
    memory                = tostring(var.memory)
    container_definitions = local.container_definitions
    execution_role_pulls  = var.ecr_repository_url
  }
}

# Stands in for aws_ecs_service: replaced whenever the task definition changes.
resource "terraform_data" "service" {
  input = {
    name          = local.service_name
    cluster       = var.cluster_name
    desired_count = var.replicas
    revision      = sha256(local.container_definitions)
    log_retention = var.log_retention_days
    tags          = local.tags
  }

  triggers_replace = [terraform_data.task_definition.output]
}
