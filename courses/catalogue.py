"""The seed catalogue (DOMAIN.md §4–5): programmes and practical skills. Pure data.

After seeding these are ordinary rows an admin can extend; codes are stable identifiers for
imports (``flask skills import-certificates`` accepts a code or a name).
"""

PROGRAMMES = [
    ("yulu-short", "雨露计划·短期技能培训",
     "面向16–45岁建档立卡贫困家庭劳动力的短期技能培训，结业颁发培训合格证书。"),
    ("yulu-vocational", "雨露计划·职业教育",
     "贫困家庭子女就读中职、高职、技工院校、技师学院，每生每年补助3000元，分两学期发放。"),
    ("tongxin", "同心温暖工程", "免费培训并推荐就业，“一人就业，全家脱贫”。"),
    ("one-village-one-student", "一村一名大学生计划", "面向农村青年的多年制远程专科学历教育。"),
]

# (code, name, category, icon, finer skills [(code, name)])
SKILLS = [
    ("planting", "种植", "agriculture", "planting", [
        ("planting.tea", "茶叶种植"), ("planting.potato", "马铃薯种植"), ("planting.chili", "辣椒种植"),
        ("planting.fruit", "果树栽培"), ("planting.fungi", "食用菌栽培"), ("planting.herbs", "中药材种植")]),
    ("breeding", "养殖", "agriculture", "breeding", [
        ("breeding.cattle-sheep", "牛羊养殖"), ("breeding.pig", "生猪养殖"),
        ("breeding.poultry", "家禽养殖"), ("breeding.aquaculture", "水产养殖")]),
    ("processing", "农产品加工", "processing", "processing", []),
    ("housekeeping", "家政", "services", "housekeeping", [
        ("housekeeping.service", "家政服务"), ("housekeeping.infant", "育婴员"),
        ("housekeeping.elderly", "养老护理员")]),
    ("cooking", "烹饪", "services", "cooking", [
        ("cooking.chinese", "中式烹调"), ("cooking.lamian", "牛肉拉面")]),
    ("electrician", "电工", "construction", "electrician", []),
    ("welding", "焊工", "construction", "welding", []),
    ("construction", "建筑", "construction", "construction", [
        ("construction.masonry", "砌筑工"), ("construction.rebar", "钢筋工")]),
    ("ecommerce", "电子商务", "commerce", "ecommerce", []),
    ("driving", "驾驶", "transport", "driving", []),
    ("crafts", "民族手工艺", "crafts", "crafts", [("crafts.embroidery", "刺绣")]),
    ("tourism", "乡村旅游", "tourism", "tourism", [("tourism.farmstay", "农家乐经营")]),
]
