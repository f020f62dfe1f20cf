"""Running a template's functions on a LocalStack-compatible emulator (MiniStack, LocalStack) instead of in local
workers: :mod:`.lambda_invoke` is the emulator's ``Invoke`` API as an ``invoke(event)`` callable, :mod:`.emulator`
deploys the functions and their DynamoDB Streams mappings there."""
