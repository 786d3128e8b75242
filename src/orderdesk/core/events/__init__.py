"""Order events on their way out: the transactional outbox and webhook delivery."""
