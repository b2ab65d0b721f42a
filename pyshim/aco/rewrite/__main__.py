from aco.rewrite.worker import main

raise SystemExit(main())
