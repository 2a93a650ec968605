"""Events of the settings layer that higher apps react to (DESIGN.md, Layers:
a lower layer tells a higher one through signals connected in the higher
app's `AppConfig.ready()`).

- `customer_deleting(sender=Customer, customer=, actor=)`: sent by
  `customer_delete` before the customer and its rows go. Receivers do what
  must happen while the rows still exist (the connectors app revokes the
  customer's connections at the providers). A receiver that raises stops
  the deletion.
"""

from django.dispatch import Signal

customer_deleting = Signal()
