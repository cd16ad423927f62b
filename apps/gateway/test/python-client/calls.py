"""Calls a running gateway through the client openapi-python-client generated from openapi.json.

argv: gateway URL, admin token. Prints one JSON object of what the calls answered.
"""
import json
import sys

from berth_client import AuthenticatedClient, Client
from berth_client.api.apps import list_apps
from berth_client.api.clusters import get_cluster, list_clusters
from berth_client.api.health import get_health
from berth_client.api.tokens import create_token, list_tokens
from berth_client.models import CreateTokenRequest, Error

url, token = sys.argv[1], sys.argv[2]
anonymous = Client(base_url=url, raise_on_unexpected_status=True)
admin = AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)
stranger = AuthenticatedClient(base_url=url, token="berth_" + "0" * 32 + "_wrong", raise_on_unexpected_status=True)

health = get_health.sync_detailed(client=anonymous)
clusters = list_clusters.sync(client=admin)
apps = list_apps.sync(client=admin, cluster=clusters.items[0].name)
missing = get_cluster.sync(client=admin, cluster="no-such-cluster")
refused = list_clusters.sync(client=stranger)
created = create_token.sync(
    client=admin,
    body=CreateTokenRequest.from_dict({"name": "from-python", "grants": [{"role": "viewer", "cluster": clusters.items[0].name}]}),
)
tokens = list_tokens.sync(client=admin)

print(
    json.dumps(
        {
            "health": health.status_code,
            "clusters": [{"name": c.name, "kind": c.kind.value} for c in clusters.items],
            "apps": len(apps.items),
            "missing": [type(missing).__name__, missing.error.code.value] if isinstance(missing, Error) else repr(missing),
            "refused": [type(refused).__name__, refused.error.code.value] if isinstance(refused, Error) else repr(refused),
            "created": [created.name, created.token.startswith("berth_")],
            "tokens": sorted(t.name for t in tokens.items),
        }
    )
)
