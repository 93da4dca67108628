"""The journal: one DynamoDB partition per execution, one record per operation."""
