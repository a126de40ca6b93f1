"""The fidelity harness: which office suite to trust with Microsoft Office documents."""

__version__ = "0.1.0"

# Bumped whenever a change alters what a stored result means (render options, rasterising,
# metrics, grading). Stored with every run so results from different pipelines are never mixed.
PIPELINE_VERSION = 5  # 2: aligned pages, layout in mm, area changed, structural checks;
# 3: a password-protected document a suite cannot open is `unsupported`, not `failed`;
# 4: a Word note no reference mark points at is not expected on the page; a workbook storing
# more than a million cells is not read (a save that large is left ungraded);
# 5: reflow told from loss along the text flow, sub-millimetre registration, sliding area
# windows, drawn-content checks, volatile formulas not expected, the reference's own page
# count, fonts drawn but never asked for counted as substitutions
