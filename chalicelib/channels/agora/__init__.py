"""Agora: AccessToken2 ("007") tokens for RTC and Chat, and the Agora Chat REST client.

- `access_token`: Agora's AccessToken2 format, byte for byte as Agora's official token builders produce it
  (AgoraIO/Tools, DynamicKey/AgoraDynamicKey/python3). Clock and salt are parameters.
- `chat`: sends text messages through the Agora Chat REST API with an app token, and verifies and parses
  Agora Chat post-delivery (message) callbacks.
"""
