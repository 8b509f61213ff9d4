"""`optadvisor profile`: run a script under measurement and keep what was measured as a
ProfileRun (optadvisor.models). No CLI code here: the command line calls `run_profile`.

    from optadvisor.profile import ProfileOptions, run_profile, save_run, load_run
    run = run_profile(ProfileOptions(script=Path("app.py"), args=("--items", "200")))
"""

from optadvisor.profile.run import (
    ProfileOptions, ProfileUsageError, run_profile,
)
from optadvisor.profile.store import ProfileRunError, load_run, save_run

__all__ = ["ProfileOptions", "ProfileRunError", "ProfileUsageError",
           "load_run", "run_profile", "save_run"]
