"""The one label mapper (clean/labels.py): composite keys, blank cells."""

from __future__ import annotations

import pandas as pd

from sro_analysis.clean.labels import map_label_frame


def test_a_key_column_blank_in_every_row_still_maps_the_other_columns():
    # Under pandas 3 an all-blank string column maps to a null-typed array; the key must still build.
    keys = pd.DataFrame({"person": pd.Series(["Member Action", "Subject Action", None], dtype="string"),
                         "action": pd.Series(["ARMBAR", "FLED", None], dtype="string"),
                         "box": pd.Series([None, "", "  "], dtype="string")})
    out = map_label_frame(keys, ["person", "action", "box"], "cpd_trr_actions.csv",
                          ["force_option", "subject_resistance"], map_key_columns=["person", "action", "category"])
    assert out["force_option"].tolist() == ["escort_or_control_hold", pd.NA, pd.NA]
    assert out["subject_resistance"].tolist() == [pd.NA, "active_resister", pd.NA]
    assert out["unmapped"].tolist() == [False, False, False]
    assert out["blank"].tolist() == [False, False, True]
