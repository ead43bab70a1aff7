# CSV records aggregated: each month's sales file is parsed by a task, totals merged here.
from hecaton import Pool
from tasks import region_totals

HEADER = "date,region,product,units,unit_price\n"
MONTHS = {
    "2024-01": HEADER + "2024-01-03,north,widget,12,2.50\n2024-01-09,south,gadget,3,19.99\n"
                        "2024-01-17,north,gadget,1,19.99\n2024-01-30,east,widget,40,2.45\n",
    "2024-02": HEADER + "2024-02-02,south,widget,7,2.50\n2024-02-14,east,gizmo,2,149.00\n"
                        "2024-02-20,north,widget,25,2.40\n",
    "2024-03": HEADER + "2024-03-05,west,gadget,9,18.75\n2024-03-11,south,gizmo,1,149.00\n"
                        "2024-03-28,east,widget,15,2.50\n2024-03-29,west,widget,4,2.50\n",
}

if __name__ == '__main__':
    with Pool(3) as pool:
        monthly = pool.map(region_totals, MONTHS.values(), chunksize=1)
    grand = {}
    for month, totals in zip(MONTHS, monthly):
        print(month, sorted(totals.items()))
        for region, (units, cents) in totals.items():
            u, c = grand.get(region, (0, 0))
            grand[region] = (u + units, c + cents)
    for region, (units, cents) in sorted(grand.items(), key=lambda kv: -kv[1][1]):
        print(f"{region:<6}{units:>5} units {cents // 100:>6}.{cents % 100:02d}")
