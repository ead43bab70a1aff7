# Processes printing: one report per department, each printed by its own process; a department
# over budget raises, and its process exits with code 1.
from hecaton import Process
from tasks import report

PAYROLL = {
    "engineering": [98_000, 105_500, 87_250, 120_000],
    "sales": [54_000, 61_500],
    "board": [400_000, 350_000, 300_000],
}

if __name__ == '__main__':
    print("payroll report")
    for department, salaries in PAYROLL.items():
        p = Process(target=report, args=(department, salaries), name=f"report-{department}")
        p.start()
        p.join()
        print(f"{p.name} exit code {p.exitcode}")
    p = Process(target=report, args=("interns", [1_200] * 3), kwargs={"currency": "USD"})
    p.start()
    p.join()
    print(p.name, p.exitcode, p.is_alive())
