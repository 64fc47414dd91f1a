locals {
  repository_name = "${var.namespace}/${var.name}"
  registry        = "${var.account_id}.dkr.ecr.${var.region}.amazonaws.com"

  lifecycle_policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last ${var.max_image_count} images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.max_image_count
      }
      action = { type = "expire" }
    }]
  })

  tags = merge(var.tags, { Name = local.repository_name })
}

# Stands in for aws_ecr_repository: records the repository's settings in state.
resource "terraform_data" "repository" {
  input = {
    name                 = local.repository_name
    url                  = "${local.registry}/${local.repository_name}"
    arn                  = "arn:aws:ecr:${var.region}:${var.account_id}:repository/${local.repository_name}"
    image_tag_mutability = var.image_tag_mutability
    scan_on_push         = var.scan_on_push
    lifecycle_policy     = local.lifecycle_policy
    tags                 = local.tags
  }
}
