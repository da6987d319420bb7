from sagewatch.cli import main

raise SystemExit(main())
