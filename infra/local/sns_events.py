"""The Lambda event SNS delivers to a subscribed function, built once for the local stack's three SNS-fed
functions: inbound SMS (End User Messaging's two-way SMS topic), WhatsApp events (the WABA's event destination)
and email feedback (the SES configuration set's event destination). The shape is AWS's documented SNS event
(docs.aws.amazon.com/lambda/latest/dg/with-sns.html): one record, `EventSource` `aws:sns`, the published message
as a JSON string in `Sns.Message`. Lives in infra/local, never in the Lambda package.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from chalicelib.core.clock import iso_utc


def sns_lambda_event(
    message: dict[str, Any],
    topic_arn: str,
    published: datetime,
    message_id: str | None = None,
    subject: str | None = None,
) -> dict[str, Any]:
    """One published `message` as SNS hands it to a function: `message_id` is SNS's own id of the publication
    (a fresh one unless the publisher's event carries it), `subject` the publication's subject, if any."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": json.dumps(message),
                    "Timestamp": iso_utc(published),
                    "MessageAttributes": {},
                },
            }
        ]
    }
