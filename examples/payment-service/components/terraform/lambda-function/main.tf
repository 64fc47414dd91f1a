locals {
  function_name = "${var.namespace}-${var.stage}-${var.name}"
  tags          = merge(var.tags, { Name = local.function_name })
}

# Stands in for aws_lambda_function: records the function's settings in state. The package
# is read from `package_path` as the AWS provider reads `filename`, and must be the archive
# whose hash was bound (the zip component's base64sha256).
resource "terraform_data" "function" {
  input = {
    function_name    = local.function_name
    arn              = "arn:aws:lambda:${var.region}:${var.account_id}:function:${local.function_name}"
    runtime          = var.runtime
    handler          = var.handler
    source_code_hash = var.package_hash
    tags             = local.tags
  }

  lifecycle {
    precondition {
      condition     = filebase64sha256(var.package_path) == var.package_hash
      error_message = "The package at package_path is not the archive whose hash was bound to package_hash."
    }
  }
}
