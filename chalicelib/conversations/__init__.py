"""Two-way chat: inbound messages from every channel, understood and answered, and staff replies."""
