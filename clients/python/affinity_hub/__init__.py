"""AffinityHub's Python client: await workflow outcomes from a REST server or worker.

    from affinity_hub import HubConnection, start_and_await

    async with HubConnection("http://127.0.0.1:8080") as hub:
        result = await start_and_await(camunda, hub, "order-fulfilment", {"item": "book"}, timeout=5)
        if result.finished: return 200, result.outcome.data
        return 202, {"location": f"/orders/{result.key}"}
"""
from .connection import HubConnection, HubError, Outcome, Subscription
from .camunda import Finished, Pending, start_and_await
from .tokens import mint_token
from .webhooks import WebhookVerificationError, verify_webhook

__all__ = ["HubConnection", "HubError", "Outcome", "Subscription", "Finished", "Pending", "start_and_await", "mint_token",
           "WebhookVerificationError", "verify_webhook"]
