"""Staff: accounts, sessions, sign-in, what each may act on, and the audit log of what they did."""
