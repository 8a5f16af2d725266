"""From a destination's configuration to its client, with its credentials.

Credentials come from the destination's Airflow Connection (a secrets
backend, the metadata database or an ``AIRFLOW_CONN_<ID>`` variable): its
password is the API key (Mailchimp's ends with its data centre, ``-us21``)
or the webhook's signing secret; its host, when set, is the API's base URL
(the webhook's URL). They are never logged or written to the ledger.
"""

from __future__ import annotations

from audiences.activate.clients import Client, Credentials
from audiences.activate.destinations import (
    KlaviyoDestination,
    MailchimpDestination,
    WebhookDestination,
)
from audiences.errors import PermanentError


def credentials(connection_id: str) -> Credentials:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = Connection.get(connection_id)
    except AirflowNotFoundException:
        raise PermanentError(
            f"no Airflow Connection {connection_id!r}: create it (docs/activation.md), e.g."
            f' AIRFLOW_CONN_{connection_id.upper()}=\'{{"conn_type": "http", "host": …,'
            ' "password": …}\''
        ) from None
    if not connection.password:
        raise PermanentError(f"the Airflow Connection {connection_id!r} has no password (the key)")
    host = connection.host or None
    if host and "://" not in host:
        scheme = connection.schema or "https"
        port = f":{connection.port}" if connection.port else ""
        host = f"{scheme}://{host}{port}"
    return Credentials(host=host, secret=connection.password)


def client_for(spec) -> Client:
    secret = credentials(spec.connection)
    if isinstance(spec, KlaviyoDestination):
        from audiences.activate.klaviyo import KlaviyoClient

        return KlaviyoClient(secret)
    if isinstance(spec, MailchimpDestination):
        from audiences.activate.mailchimp import MailchimpClient

        return MailchimpClient(secret, spec.audience)
    if isinstance(spec, WebhookDestination):
        from audiences.activate.webhook import WebhookClient

        return WebhookClient(secret)
    raise PermanentError(f"no client for destinations of type {spec.type!r}")
