"""A tiny, valid community in the canonical formats, for tests to build on (or break)."""

from __future__ import annotations

from pathlib import Path

GROUPS = """\
group_id,name,modality,language,time_zone,cadence_days,coach,started_on,cohort
g01,Tuesday Evening Circle,video,en,Europe/London,7,Priya Shah,2025-04-01,pilot
g02,Lunchtime Walkers,in_person,es,Europe/Madrid,7,,2025-07-01,scale_up
"""

MEMBERS = """\
member_id,name,email,group_id,joined_on,left_on,role,tier
m01,Ada Okafor,ada@example.org,g01,2025-04-01,,member,standard
m02,Ben Ruiz,ben@example.org,g01,2025-04-01,2025-06-30,facilitator,intensive
m03,Chen Wei,,g01,2025-04-08,,member,light
m04,Dina Haddad,dina@example.org,g02,2025-07-01,,member,standard
"""

SESSIONS = """\
session_id,group_id,starts_at,duration_minutes,host_member_id,modality,captioned
g01-2025-04-01,g01,2025-04-01T18:30:00+01:00,60,m01,video,true
g01-2025-04-08,g01,2025-04-08T18:30:00+01:00,60,m02,video,false
g02-2025-07-01,g02,2025-07-01T12:00:00+02:00,45,m04,in_person,false
"""

ATTENDANCE = """\
session_id,member_id,status,minutes
g01-2025-04-01,m01,attended,58
g01-2025-04-01,m02,attended,60
g01-2025-04-08,m01,excused,
g01-2025-04-08,m02,attended,55
g01-2025-04-08,m03,attended,40
g02-2025-07-01,m04,attended,45
"""

BUDDIES = """\
member_id,buddy_id,checked_in_at,channel
m01,m02,2025-04-03T12:10:00+01:00,message
m03,m01,2025-04-10T09:00:00Z,call
"""

SURVEY = """\
survey_id,submitted_at,group_id,Email Address,bel_1,bel_2,bel_3,bel_4,psy_1,psy_2,psy_3,psy_4,psy_5,psy_6,psy_7,lon_1,lon_2,lon_3,lead_1,comment
2025Q2,2025-06-20T19:02:11+01:00,g01,ada@example.org,4,5,4,4,2,6,1,5,3,6,6,1,2,1,3,Glad I came.
2025Q2,2025-06-21T08:15:00+01:00,g01,ben@example.org,Agree,Strongly agree,3,,1,7,2,6,2,7,5,2,2,2,5,
"""

FILES = {
    "groups.csv": GROUPS,
    "members.csv": MEMBERS,
    "sessions.csv": SESSIONS,
    "attendance.csv": ATTENDANCE,
    "buddy_checkins.csv": BUDDIES,
    "survey_responses.csv": SURVEY,
}


def write_community(folder: Path, **overrides: str) -> Path:
    """Write the tiny community into `folder` (a file's text can be replaced by keyword)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        key = name.removesuffix(".csv")
        (folder / name).write_text(overrides.get(key, text), encoding="utf-8")
    return folder
