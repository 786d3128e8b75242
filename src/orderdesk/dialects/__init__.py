"""Wire dialects: each translates one public API onto the core and nothing more."""


def register_event_renderers() -> None:
    """Tell the outbox how each kind of organization's subscribers want their events.

    Every process that changes orders (servers, workers timing out countdowns) calls this once
    at start-up; the core never imports a dialect itself.
    """
    from orderdesk.core.events.service import register_renderer
    from orderdesk.dialects.partner.wire import render_event as partner_event
    from orderdesk.dialects.restaurant.wire import render_event as restaurant_event

    register_renderer("partner", partner_event)
    register_renderer("restaurant", restaurant_event)
