"""esm/dynamodb"""
