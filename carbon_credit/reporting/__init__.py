"""Figures for staff and the street office: stats, leaderboards, the month's overview, reports, exports."""
