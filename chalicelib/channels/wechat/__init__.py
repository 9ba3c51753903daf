"""WeChat Official Account channel.

- `inbound`: verifying the server-configuration signature and parsing the plaintext-mode XML that
  WeChat POSTs when a member writes to (or follows / unfollows) the store's Official Account.
- `client`: the HTTP API (access token, customer-service messages, template messages), the 48-hour
  customer-service window rule, and `WeChatChannel`, the delivery service's channel adapter.
- `credentials`: a store's WeChat secret (app id, app secret, server token, template ids).
"""
