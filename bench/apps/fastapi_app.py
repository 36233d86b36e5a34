# Minimal FastAPI app for sonde's overhead benchmark: GET / -> small JSON.
# Run: python3 -m uvicorn --app-dir bench/apps fastapi_app:app --port P
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root():
    return {"ok": True}
