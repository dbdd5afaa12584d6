"""Administrative divisions (统计用区划代码) and region scoping."""
