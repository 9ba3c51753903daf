"""Member care (issue 4): profiles built from bookings, tags, segments, campaigns, coupons and the outreach
send path shared by campaigns and the always-on care schedules."""
