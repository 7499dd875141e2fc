#pragma once

// The demo dataset that `salesopsctl demo load` creates (demo_commands.cc):
// what exists — the sales hierarchy, accounts, contacts, the opportunities of
// SPEC §7 and others, buying-centre roles and ERP invoices — as plain tables.
// The loader there decides how and in which order it is created. Included by
// demo_commands.cc only.

#include <cstdint>

#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::ctl {

// The rep who holds SPEC §7's funnel (Li Na, East China).
inline constexpr char kFunnelRepKey[] = "rep-li-na";

struct NodeSpec {
  const char* key;
  const char* parent;  // "" = the root
  v1::OrgNodeKind kind;
  const char* name;
  const char* manager;
  int64_t quota;  // major units for the demo quarter; 0 = none (REP only)
};

inline constexpr v1::OrgNodeKind kGlobal = v1::ORG_NODE_KIND_GLOBAL;
inline constexpr v1::OrgNodeKind kRegion = v1::ORG_NODE_KIND_REGION;
inline constexpr v1::OrgNodeKind kArea = v1::ORG_NODE_KIND_AREA;
inline constexpr v1::OrgNodeKind kTeam = v1::ORG_NODE_KIND_TEAM;
inline constexpr v1::OrgNodeKind kRep = v1::ORG_NODE_KIND_REP;

// Parents before children. Quotas sit on reps; every other node's is the sum
// of its children's (SPEC §2.3).
inline const NodeSpec kNodes[] = {
    {"global", "", kGlobal, "Global", "global.sales", 0},
    {"apac", "global", kRegion, "Asia-Pacific", "apac.manager", 0},
    {"china", "apac", kArea, "China", "china.manager", 0},
    {"north-china", "china", kArea, "North China", "north.manager", 0},
    {"team-beijing", "north-china", kTeam, "Beijing Enterprise Team",
     "beijing.lead", 0},
    {"rep-wang-lei", "team-beijing", kRep, "Wang Lei", "wang.lei", 3'000'000},
    {"rep-zhao-min", "team-beijing", kRep, "Zhao Min", "zhao.min", 2'500'000},
    {"team-tianjin", "north-china", kTeam, "Tianjin Industry Team",
     "tianjin.lead", 0},
    {"rep-sun-hao", "team-tianjin", kRep, "Sun Hao", "sun.hao", 2'000'000},
    {"east-china", "china", kArea, "East China", "east.manager", 0},
    {"team-shanghai", "east-china", kTeam, "Shanghai Industry Team",
     "shanghai.lead", 0},
    {kFunnelRepKey, "team-shanghai", kRep, "Li Na", "li.na", 5'000'000},
    {"rep-chen-jie", "team-shanghai", kRep, "Chen Jie", "chen.jie", 3'000'000},
    {"team-hangzhou", "east-china", kTeam, "Hangzhou & Nanjing Team",
     "hangzhou.lead", 0},
    {"rep-zhou-yang", "team-hangzhou", kRep, "Zhou Yang", "zhou.yang",
     2'500'000},
    {"south-china", "china", kArea, "South China", "south.manager", 0},
    {"team-guangzhou", "south-china", kTeam, "Guangzhou Team", "guangzhou.lead",
     0},
    {"rep-huang-wei", "team-guangzhou", kRep, "Huang Wei", "huang.wei",
     2'000'000},
    {"team-shenzhen", "south-china", kTeam, "Shenzhen Team", "shenzhen.lead",
     0},
    {"rep-lin-fang", "team-shenzhen", kRep, "Lin Fang", "lin.fang", 2'500'000},
    {"europe", "global", kRegion, "Europe", "europe.manager", 0},
    {"dach", "europe", kArea, "DACH", "dach.manager", 0},
    {"team-munich", "dach", kTeam, "Munich Industry Team", "munich.lead", 0},
    {"rep-anna-schmidt", "team-munich", kRep, "Anna Schmidt", "anna.schmidt",
     1'500'000},
    {"rep-lukas-weber", "team-munich", kRep, "Lukas Weber", "lukas.weber",
     1'200'000},
};

struct AccountSpec {
  const char* key;
  const char* name;
  const char* industry;
  v1::SizeBand size;
  v1::OwnershipType ownership;
  const char* region;
  const char* address;
  const char* website;
  v1::SourceChannel source;
  const char* owner;  // a node key
  v1::AccountTier tier;
  v1::Level potential;
  v1::Level share;
  v1::RelationshipStage relationship;
  // Credit profile.
  int64_t credit_limit;  // major units
  int terms_days;
  v1::RiskClass risk;
};

inline const AccountSpec kAccounts[] = {
    {"huadong-grid", "Huadong Power Grid Co., Ltd.", "Utilities",
     v1::SIZE_BAND_ENTERPRISE, v1::OWNERSHIP_TYPE_STATE_OWNED, "East China",
     "Pudong New Area, Shanghai", "https://huadong-grid.example.cn",
     v1::SOURCE_CHANNEL_TRADE_SHOW, kFunnelRepKey, v1::ACCOUNT_TIER_PLATINUM,
     v1::LEVEL_HIGH, v1::LEVEL_LOW, v1::RELATIONSHIP_STAGE_MIDDLE, 8'000'000,
     60, v1::RISK_CLASS_LOW},
    {"jiangnan-steel", "Jiangnan Special Steel Group", "Steel",
     v1::SIZE_BAND_ENTERPRISE, v1::OWNERSHIP_TYPE_STATE_OWNED, "East China",
     "Jiangbei District, Nanjing", "https://jiangnan-steel.example.cn",
     v1::SOURCE_CHANNEL_REFERRAL, kFunnelRepKey, v1::ACCOUNT_TIER_GOLD,
     v1::LEVEL_HIGH, v1::LEVEL_HIGH, v1::RELATIONSHIP_STAGE_HIGH, 5'000'000, 45,
     v1::RISK_CLASS_MEDIUM},
    {"xihu-logistics", "Xihu Smart Logistics Co., Ltd.", "Logistics",
     v1::SIZE_BAND_LARGE, v1::OWNERSHIP_TYPE_PRIVATE, "East China",
     "Xihu District, Hangzhou", "https://xihu-logistics.example.cn",
     v1::SOURCE_CHANNEL_INBOUND, kFunnelRepKey, v1::ACCOUNT_TIER_SILVER,
     v1::LEVEL_HIGH, v1::LEVEL_LOW, v1::RELATIONSHIP_STAGE_INITIAL, 1'500'000,
     30, v1::RISK_CLASS_HIGH},
    {"suzhou-precision", "Suzhou Precision Electronics Co., Ltd.",
     "Electronics manufacturing", v1::SIZE_BAND_LARGE,
     v1::OWNERSHIP_TYPE_JOINT_VENTURE, "East China",
     "Suzhou Industrial Park, Suzhou", "https://suzhou-precision.example.cn",
     v1::SOURCE_CHANNEL_PARTNER, kFunnelRepKey, v1::ACCOUNT_TIER_GOLD,
     v1::LEVEL_LOW, v1::LEVEL_HIGH, v1::RELATIONSHIP_STAGE_STRATEGIC, 3'000'000,
     30, v1::RISK_CLASS_LOW},
    {"jingjin-metro", "Jingjin Metro Operations Co.", "Rail transit",
     v1::SIZE_BAND_ENTERPRISE, v1::OWNERSHIP_TYPE_STATE_OWNED, "North China",
     "Fengtai District, Beijing", "https://jingjin-metro.example.cn",
     v1::SOURCE_CHANNEL_OUTBOUND, "rep-wang-lei", v1::ACCOUNT_TIER_GOLD,
     v1::LEVEL_HIGH, v1::LEVEL_LOW, v1::RELATIONSHIP_STAGE_INITIAL, 4'000'000,
     60, v1::RISK_CLASS_LOW},
    {"pearl-telecom", "Pearl River Telecom Equipment Co., Ltd.", "Telecom",
     v1::SIZE_BAND_LARGE, v1::OWNERSHIP_TYPE_LISTED, "South China",
     "Nanshan District, Shenzhen", "https://pearl-telecom.example.cn",
     v1::SOURCE_CHANNEL_ADVERTISING, "rep-lin-fang", v1::ACCOUNT_TIER_SILVER,
     v1::LEVEL_LOW, v1::LEVEL_LOW, v1::RELATIONSHIP_STAGE_NURTURING, 1'000'000,
     30, v1::RISK_CLASS_MEDIUM},
    {"rheinwerk", "Rheinwerk Maschinenbau GmbH", "Machinery",
     v1::SIZE_BAND_LARGE, v1::OWNERSHIP_TYPE_PRIVATE, "Europe",
     "Munich, Germany", "https://rheinwerk.example.de",
     v1::SOURCE_CHANNEL_TRADE_SHOW, "rep-anna-schmidt",
     v1::ACCOUNT_TIER_STANDARD, v1::LEVEL_HIGH, v1::LEVEL_HIGH,
     v1::RELATIONSHIP_STAGE_MIDDLE, 800'000, 30, v1::RISK_CLASS_LOW},
};

struct ContactSpec {
  const char* account;
  const char* key;
  const char* name;
  const char* title;
  const char* department;
  v1::ContactFunction function;
  v1::ContactLevel level;
  const char* reports_to;  // a contact key of the same account; "" = none
  v1::PersonalStyle style;
  v1::RelationshipDepth depth;
  const char* notes;
};

inline constexpr v1::ContactLevel kDecision = v1::CONTACT_LEVEL_DECISION;
inline constexpr v1::ContactLevel kManagement = v1::CONTACT_LEVEL_MANAGEMENT;
inline constexpr v1::ContactLevel kOperational = v1::CONTACT_LEVEL_OPERATIONAL;

// Bosses before their reports.
inline const ContactSpec kContacts[] = {
    // Huadong Power Grid: the seed's buying-centre table (SPEC §3.4).
    {"huadong-grid", "gm", "Zhang Guoqiang", "General Manager",
     "Executive Office", v1::CONTACT_FUNCTION_EXECUTIVE, kDecision, "",
     v1::PERSONAL_STYLE_IMAGINATIVE, v1::RELATIONSHIP_DEPTH_ACQUAINTED,
     "Final sign-off; we have not met him yet."},
    {"huadong-grid", "tech-head", "Liu Jianhua", "Head of Technical Department",
     "Technical Department", v1::CONTACT_FUNCTION_TECHNICAL, kManagement, "gm",
     v1::PERSONAL_STYLE_ANALYTICAL, v1::RELATIONSHIP_DEPTH_ENGAGED,
     "Decides the technical selection; wants reference sites."},
    {"huadong-grid", "purchasing", "Xu Li", "Purchasing Manager", "Purchasing",
     v1::CONTACT_FUNCTION_PURCHASING, kManagement, "gm",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_TRUSTED,
     "Filters suppliers; supports us."},
    {"huadong-grid", "finance", "Ma Qing", "Finance Director", "Finance",
     v1::CONTACT_FUNCTION_FINANCE, kManagement, "gm",
     v1::PERSONAL_STYLE_ANALYTICAL, v1::RELATIONSHIP_DEPTH_ACQUAINTED,
     "Prefers the incumbent's lower price."},
    {"huadong-grid", "engineer", "He Peng", "Senior Engineer",
     "Grid Operations", v1::CONTACT_FUNCTION_PRODUCTION, kOperational,
     "tech-head", v1::PERSONAL_STYLE_INTERPERSONAL,
     v1::RELATIONSHIP_DEPTH_ALLIED,
     "Our coach: explains the internal process."},
    {"huadong-grid", "operations", "Gao Yan",
     "Substation Operations Supervisor", "Grid Operations",
     v1::CONTACT_FUNCTION_PRODUCTION, kOperational, "tech-head",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_ENGAGED,
     "Daily user of the dispatch screens."},
    // Jiangnan Special Steel.
    {"jiangnan-steel", "chairman", "Qian Weidong", "Chairman", "Board",
     v1::CONTACT_FUNCTION_EXECUTIVE, kDecision, "",
     v1::PERSONAL_STYLE_IMAGINATIVE, v1::RELATIONSHIP_DEPTH_ENGAGED, ""},
    {"jiangnan-steel", "vp-production", "Song Lin", "Vice President Production",
     "Production", v1::CONTACT_FUNCTION_PRODUCTION, kDecision, "chairman",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_ENGAGED, ""},
    {"jiangnan-steel", "equipment-head", "Tang Ming", "Head of Equipment",
     "Equipment Department", v1::CONTACT_FUNCTION_TECHNICAL, kManagement,
     "vp-production", v1::PERSONAL_STYLE_ANALYTICAL,
     v1::RELATIONSHIP_DEPTH_ACQUAINTED, "Doubts our service coverage."},
    {"jiangnan-steel", "purchasing", "Feng Xiaoyu", "Purchasing Director",
     "Purchasing", v1::CONTACT_FUNCTION_PURCHASING, kManagement, "chairman",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_TRUSTED, ""},
    {"jiangnan-steel", "mill-manager", "Deng Hui", "Rolling Mill Manager",
     "Cold Rolling Mill", v1::CONTACT_FUNCTION_PRODUCTION, kOperational,
     "vp-production", v1::PERSONAL_STYLE_INTERPERSONAL,
     v1::RELATIONSHIP_DEPTH_TRUSTED, ""},
    // Xihu Smart Logistics.
    {"xihu-logistics", "ceo", "Yu Hang", "CEO", "Executive Office",
     v1::CONTACT_FUNCTION_EXECUTIVE, kDecision, "",
     v1::PERSONAL_STYLE_IMAGINATIVE, v1::RELATIONSHIP_DEPTH_ENGAGED, ""},
    {"xihu-logistics", "cio", "Shen Jia", "CIO", "IT",
     v1::CONTACT_FUNCTION_TECHNICAL, kDecision, "ceo",
     v1::PERSONAL_STYLE_ANALYTICAL, v1::RELATIONSHIP_DEPTH_ACQUAINTED, ""},
    {"xihu-logistics", "ops-director", "Lu Bin",
     "Warehouse Operations Director", "Operations",
     v1::CONTACT_FUNCTION_PRODUCTION, kManagement, "ceo",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_TRUSTED, ""},
    {"xihu-logistics", "architect", "Kong Rui", "IT Architect", "IT",
     v1::CONTACT_FUNCTION_TECHNICAL, kOperational, "cio",
     v1::PERSONAL_STYLE_INTERPERSONAL, v1::RELATIONSHIP_DEPTH_ALLIED,
     "Former colleague of our presales lead."},
    // Suzhou Precision Electronics (a joint venture).
    {"suzhou-precision", "gm", "Klaus Richter", "General Manager",
     "Executive Office", v1::CONTACT_FUNCTION_EXECUTIVE, kDecision, "",
     v1::PERSONAL_STYLE_ANALYTICAL, v1::RELATIONSHIP_DEPTH_TRUSTED, ""},
    {"suzhou-precision", "deputy-gm", "Wu Ting", "Deputy General Manager",
     "Executive Office", v1::CONTACT_FUNCTION_EXECUTIVE, kDecision, "gm",
     v1::PERSONAL_STYLE_INTERPERSONAL, v1::RELATIONSHIP_DEPTH_ALLIED, ""},
    {"suzhou-precision", "quality", "Pan Lei", "Quality Manager", "Quality",
     v1::CONTACT_FUNCTION_QUALITY, kManagement, "deputy-gm",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_ENGAGED, ""},
    {"suzhou-precision", "purchasing", "Cao Jing", "Purchasing Manager",
     "Purchasing", v1::CONTACT_FUNCTION_PURCHASING, kManagement, "deputy-gm",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_ENGAGED, ""},
    {"suzhou-precision", "finance", "Zhu Hong", "Finance Manager", "Finance",
     v1::CONTACT_FUNCTION_FINANCE, kManagement, "gm",
     v1::PERSONAL_STYLE_ANALYTICAL, v1::RELATIONSHIP_DEPTH_ACQUAINTED,
     "Pays on the 25th of the month."},
    // Jingjin Metro.
    {"jingjin-metro", "director", "Zhao Jun", "Director of Signalling",
     "Signalling", v1::CONTACT_FUNCTION_TECHNICAL, kDecision, "",
     v1::PERSONAL_STYLE_ANALYTICAL, v1::RELATIONSHIP_DEPTH_ACQUAINTED, ""},
    {"jingjin-metro", "engineer", "Guo Fei", "Project Engineer", "Signalling",
     v1::CONTACT_FUNCTION_TECHNICAL, kOperational, "director",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_ENGAGED, ""},
    // Pearl River Telecom.
    {"pearl-telecom", "lab-head", "Luo Min", "Head of Test Lab", "R&D",
     v1::CONTACT_FUNCTION_TECHNICAL, kManagement, "",
     v1::PERSONAL_STYLE_IMAGINATIVE, v1::RELATIONSHIP_DEPTH_ACQUAINTED, ""},
    {"pearl-telecom", "ap-clerk", "Ye Qing", "Accounts Payable", "Finance",
     v1::CONTACT_FUNCTION_FINANCE, kOperational, "",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_ACQUAINTED, ""},
    // Rheinwerk.
    {"rheinwerk", "md", "Sabine Kraus", "Managing Director", "Management",
     v1::CONTACT_FUNCTION_EXECUTIVE, kDecision, "",
     v1::PERSONAL_STYLE_ANALYTICAL, v1::RELATIONSHIP_DEPTH_ENGAGED, ""},
    {"rheinwerk", "plant", "Jonas Becker", "Plant Manager", "Production",
     v1::CONTACT_FUNCTION_PRODUCTION, kManagement, "md",
     v1::PERSONAL_STYLE_ORGANIZED, v1::RELATIONSHIP_DEPTH_TRUSTED, ""},
};

// When an opportunity is expected to close.
enum class Due { kDemoQuarter, kNextQuarter };

struct OpportunitySpec {
  const char* key;
  const char* owner;    // a REP node key
  const char* account;  // an account key
  const char* name;
  const char* stage;  // a buying-cycle-6 stage key
  int64_t amount;     // major units
  Due due;
  int close_in_days;  // from today (capped at the quarter's last day)
  v1::SourceChannel source;
  const char* competitor;  // "" = competitors unknown
};

// SPEC §7: Li Na's funnel, amounts in units of 10,000 EUR: INTEREST 5 / 300,
// CONSIDERATION 4 / 240, DESIGN 3 / 176, COMPARISON 2 / 464, COMMITMENT 2 /
// 146, USAGE 2 / 98; weighted 364.8 = 3,648,000.00.
inline const OpportunitySpec kOpportunities[] = {
    {"funnel-01", kFunnelRepKey, "huadong-grid",
     "Substation monitoring upgrade, phase 2", "INTEREST", 800'000,
     Due::kDemoQuarter, 84, v1::SOURCE_CHANNEL_TRADE_SHOW, ""},
    {"funnel-02", kFunnelRepKey, "jiangnan-steel",
     "Rolling mill drive retrofit", "INTEREST", 700'000, Due::kDemoQuarter, 85,
     v1::SOURCE_CHANNEL_REFERRAL, ""},
    {"funnel-03", kFunnelRepKey, "xihu-logistics",
     "Warehouse automation, Hangzhou hub", "INTEREST", 600'000,
     Due::kDemoQuarter, 86, v1::SOURCE_CHANNEL_INBOUND, ""},
    {"funnel-04", kFunnelRepKey, "suzhou-precision", "Clean-room power quality",
     "INTEREST", 500'000, Due::kDemoQuarter, 87, v1::SOURCE_CHANNEL_PARTNER,
     ""},
    {"funnel-05", kFunnelRepKey, "huadong-grid", "Control-room video walls",
     "INTEREST", 400'000, Due::kDemoQuarter, 88, v1::SOURCE_CHANNEL_OUTBOUND,
     ""},
    {"funnel-06", kFunnelRepKey, "jiangnan-steel",
     "Blast furnace sensor network", "CONSIDERATION", 900'000,
     Due::kDemoQuarter, 70, v1::SOURCE_CHANNEL_REFERRAL, "Nordwerk Automation"},
    {"funnel-07", kFunnelRepKey, "xihu-logistics", "Fleet telematics platform",
     "CONSIDERATION", 600'000, Due::kDemoQuarter, 71,
     v1::SOURCE_CHANNEL_INBOUND, ""},
    {"funnel-08", kFunnelRepKey, "huadong-grid",
     "Distribution automation pilot, Ningbo", "CONSIDERATION", 500'000,
     Due::kDemoQuarter, 72, v1::SOURCE_CHANNEL_TRADE_SHOW,
     "Eastern Electric Systems"},
    {"funnel-09", kFunnelRepKey, "suzhou-precision",
     "SMT line energy monitoring", "CONSIDERATION", 400'000, Due::kDemoQuarter,
     73, v1::SOURCE_CHANNEL_PARTNER, ""},
    {"funnel-10", kFunnelRepKey, "huadong-grid", "Smart meter data platform",
     "DESIGN", 760'000, Due::kDemoQuarter, 56, v1::SOURCE_CHANNEL_TRADE_SHOW,
     "Eastern Electric Systems"},
    {"funnel-11", kFunnelRepKey, "jiangnan-steel",
     "Predictive maintenance, cold rolling", "DESIGN", 600'000,
     Due::kDemoQuarter, 57, v1::SOURCE_CHANNEL_REFERRAL, "Nordwerk Automation"},
    {"funnel-12", kFunnelRepKey, "xihu-logistics", "Sorting-centre conveyors",
     "DESIGN", 400'000, Due::kDemoQuarter, 58, v1::SOURCE_CHANNEL_INBOUND,
     "Cargotec Handling"},
    {"funnel-13", kFunnelRepKey, "huadong-grid", "Grid dispatch automation",
     "COMPARISON", 2'640'000, Due::kDemoQuarter, 42,
     v1::SOURCE_CHANNEL_TRADE_SHOW, "Eastern Electric Systems"},
    {"funnel-14", kFunnelRepKey, "jiangnan-steel",
     "Plant-wide energy management system", "COMPARISON", 2'000'000,
     Due::kDemoQuarter, 43, v1::SOURCE_CHANNEL_REFERRAL, "Nordwerk Automation"},
    {"funnel-15", kFunnelRepKey, "suzhou-precision", "Factory MES expansion",
     "COMMITMENT", 860'000, Due::kDemoQuarter, 28, v1::SOURCE_CHANNEL_PARTNER,
     "Local integrator"},
    {"funnel-16", kFunnelRepKey, "xihu-logistics", "Cold-chain monitoring",
     "COMMITMENT", 600'000, Due::kDemoQuarter, 29, v1::SOURCE_CHANNEL_INBOUND,
     "Cargotec Handling"},
    // USAGE (contract signed): credit opens a receivable for each.
    {"funnel-17", kFunnelRepKey, "jiangnan-steel",
     "Crane control modernisation", "USAGE", 580'000, Due::kDemoQuarter, 14,
     v1::SOURCE_CHANNEL_REFERRAL, "Nordwerk Automation"},
    {"funnel-18", kFunnelRepKey, "suzhou-precision",
     "UPS and switchgear replacement", "USAGE", 400'000, Due::kDemoQuarter, 15,
     v1::SOURCE_CHANNEL_PARTNER, "Local integrator"},
    // Other reps: Europe in the demo quarter; North and South China in the
    // next one (China's demo-quarter figures stay exactly the seed's).
    {"dach-01", "rep-anna-schmidt", "rheinwerk", "Press line automation",
     "COMPARISON", 350'000, Due::kDemoQuarter, 45,
     v1::SOURCE_CHANNEL_TRADE_SHOW, "Nordwerk Automation"},
    {"dach-02", "rep-anna-schmidt", "rheinwerk", "Spare parts framework",
     "DESIGN", 120'000, Due::kDemoQuarter, 60, v1::SOURCE_CHANNEL_TRADE_SHOW,
     ""},
    {"north-01", "rep-wang-lei", "jingjin-metro",
     "Platform screen door controls, line 19", "CONSIDERATION", 1'200'000,
     Due::kNextQuarter, 30, v1::SOURCE_CHANNEL_OUTBOUND, ""},
    {"south-01", "rep-lin-fang", "pearl-telecom", "Test lab power systems",
     "INTEREST", 450'000, Due::kNextQuarter, 45, v1::SOURCE_CHANNEL_ADVERTISING,
     ""},
};

struct RoleSpec {
  const char* opportunity;
  const char* contact;  // a contact key of the opportunity's account
  v1::BuyingRole role;
  v1::Attitude attitude;
  int weight;
};

inline const RoleSpec kRoles[] = {
    // The seed's table: technical head decides the selection, neutral, 60%;
    // purchasing filters suppliers, supporter, 30%; finance influences,
    // opponent, 10%; the general manager signs off, unknown, 0%.
    {"funnel-13", "tech-head", v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
     v1::ATTITUDE_C, 60},
    {"funnel-13", "purchasing", v1::BUYING_ROLE_INFLUENCER, v1::ATTITUDE_B, 30},
    {"funnel-13", "finance", v1::BUYING_ROLE_FINANCIAL_BUYER, v1::ATTITUDE_E,
     10},
    {"funnel-13", "gm", v1::BUYING_ROLE_DECISION_MAKER,
     v1::ATTITUDE_UNSPECIFIED, 0},
    {"funnel-13", "engineer", v1::BUYING_ROLE_COACH, v1::ATTITUDE_A, 0},
    {"funnel-13", "operations", v1::BUYING_ROLE_USER, v1::ATTITUDE_B_PLUS, 0},
    // No coach yet: deal health reports NO_COACH.
    {"funnel-14", "chairman", v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_C,
     40},
    {"funnel-14", "equipment-head", v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
     v1::ATTITUDE_D, 30},
    {"funnel-14", "mill-manager", v1::BUYING_ROLE_USER, v1::ATTITUDE_B_PLUS,
     20},
    {"funnel-14", "purchasing", v1::BUYING_ROLE_INFLUENCER, v1::ATTITUDE_B, 10},
    {"funnel-15", "gm", v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_B, 50},
    {"funnel-15", "quality", v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
     v1::ATTITUDE_B, 20},
    {"funnel-15", "purchasing", v1::BUYING_ROLE_USER, v1::ATTITUDE_C, 10},
    {"funnel-15", "deputy-gm", v1::BUYING_ROLE_COACH, v1::ATTITUDE_A, 20},
    {"funnel-16", "ceo", v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_B, 40},
    {"funnel-16", "cio", v1::BUYING_ROLE_TECHNICAL_GATEKEEPER, v1::ATTITUDE_C,
     30},
    {"funnel-16", "ops-director", v1::BUYING_ROLE_USER, v1::ATTITUDE_B_PLUS,
     30},
    {"funnel-16", "architect", v1::BUYING_ROLE_COACH, v1::ATTITUDE_A, 0},
};

// ERP invoices, dated relative to today (payment terms from the profile).
struct InvoiceSpec {
  const char* external_id;
  const char* account;
  int64_t amount;  // major units
  int issued_days_ago;
};

inline const InvoiceSpec kInvoices[] = {
    // 80 days ago, 45 days' terms: 35 days overdue; partly paid, then a
    // promise for the rest that nobody pays (judged BROKEN).
    {"DEMO-INV-1001", "jiangnan-steel", 420'000, 80},
    // 100 days ago, 30 days' terms: 70 days overdue (the dunning run puts
    // the account on credit hold at +60).
    {"DEMO-INV-1002", "xihu-logistics", 180'000, 100},
    // 40 days ago, 30 days' terms: 10 days overdue; promised and paid today
    // (judged KEPT).
    {"DEMO-INV-1003", "suzhou-precision", 260'000, 40},
    // 20 days ago, 60 days' terms: not due.
    {"DEMO-INV-1004", "huadong-grid", 1'250'000, 20},
    // 150 days ago, 60 days' terms: 90 days overdue.
    {"DEMO-INV-1005", "jingjin-metro", 640'000, 150},
    // 200 days ago, 30 days' terms: 170 days overdue.
    {"DEMO-INV-1006", "pearl-telecom", 95'000, 200},
};

}  // namespace salesops::ctl
