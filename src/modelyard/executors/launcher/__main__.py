"""``python -m modelyard.executors.launcher run|serve ...``"""

import sys

from modelyard.executors.launcher.daemon import main

sys.exit(main())
