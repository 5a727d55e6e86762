"""Reaching residents: notifications, what was sent to WeChat, and the mass-send quota."""
