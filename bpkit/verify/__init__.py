"""`bpkit verify`: is a published chart sound, and does it install what it names?"""
