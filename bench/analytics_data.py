#!/usr/bin/env python3
"""Writes events.csv (user_id,event,timestamp) with a planted 5-step funnel:
N users over 60 days, each user a few sessions; stdlib only."""
import random
import sys

out, users, target = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(11)
START = 1735689600
STEPS = ["visit", "signup", "activate", "trial", "pay"]
NOISE = ["view", "click", "scroll", "search"]
per_user = target / users
with open(out, "w") as f:
    f.write("user_id,event,timestamp\n")
    written = 0
    for u in range(users):
        uid = f"u{u}"
        n = max(1, int(rng.expovariate(1 / per_user)))
        t = START + rng.randrange(60 * 86400)
        step = 0
        lines = []
        for _ in range(n):
            t += int(rng.expovariate(1 / 3000))
            if step < len(STEPS) and rng.random() < 0.35:
                ev = STEPS[step]
                if rng.random() < 0.75:
                    step += 1
            else:
                ev = rng.choice(NOISE)
            lines.append(f"{uid},{ev},{t}\n")
        f.writelines(lines)
        written += len(lines)
print(written)
