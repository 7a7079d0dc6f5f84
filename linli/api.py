"""The REST API: /api/, OpenAPI document at /api/openapi.json, browsable docs at /api/docs."""

from ninja import NinjaAPI

from assistance.api import router as assistance_router
from beds.api import router as beds_router
from campaigns.api import router as campaigns_router
from care.api import router as care_router
from core.api import router as core_router
from core.api_auth import API_AUTH
from dispatch.api import router as dispatch_router
from ewarn.api import router as ewarn_router
from gates.api import router as gates_router
from geo.api import router as geo_router
from healthcode.api import router as healthcode_router
from people.api import router as people_router
from relief.api import router as relief_router
from renovation.api import router as renovation_router
from reopening.api import router as reopening_router
from risk.api import router as risk_router
from supplies.api import router as supplies_router
from tasks.api import router as tasks_router
from tracing.api import router as tracing_router
from workforce.api import router as workforce_router

api = NinjaAPI(title="Linli API", version="1", auth=API_AUTH, urls_namespace="api")
api.add_router("/", core_router)
api.add_router("/geo", geo_router)
api.add_router("/people", people_router)
api.add_router("/tasks", tasks_router)
api.add_router("/risk", risk_router)
api.add_router("/tracing", tracing_router)
api.add_router("/healthcode", healthcode_router)
api.add_router("/gates", gates_router)
api.add_router("/campaigns", campaigns_router)
api.add_router("/help", assistance_router)
api.add_router("/care", care_router)
api.add_router("/beds", beds_router)
api.add_router("/supplies", supplies_router)
api.add_router("/dispatch", dispatch_router)
api.add_router("/ewarn", ewarn_router)
api.add_router("/reopening", reopening_router)
api.add_router("/relief", relief_router)
api.add_router("/workforce", workforce_router)
api.add_router("/renovation", renovation_router)
