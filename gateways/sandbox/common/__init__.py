"""What the sandbox gateways share, written once: fault injection (`faults`), webhook delivery
with retries (`webhooks`), JSON bodies and the `/_control` endpoint (`http`), id generation
(`ids`), and the Starlette app every sandbox is built into (`app`). Nothing here knows a
gateway's paths, entities or error envelope; each gateway passes those in."""
