// `salesopsctl demo ...`: the demo dataset of the README's run command
// (scripts/run.sh) and the checks around it.
//
//   demo wait  waits (bounded) until the four services answer SERVING on
//              grpc.health.v1.Health/Check;
//   demo load  loads the demo dataset once and prints where the services
//              listen and the forecast tree from Global;
//   demo tree  only prints the addresses and the tree.
//
// The dataset: a multinational's sales hierarchy (Global → Asia-Pacific →
// China → North/East/South China → teams → reps, and Europe → DACH → team →
// reps) with quotas for the demo quarter; seven accounts with org charts in
// the spirit of SPEC §2.2; the 18 open opportunities of SPEC §7 on one rep of
// East China (Li Na, quota 5,000,000.00), created directly in their stages, so
// that Li Na, her team, East China and China all show pipeline_weighted
// 3,648,000.00 and forecast 3,648,000.00 against a quota of 5,000,000.00 for
// Li Na; buying centres (SPEC §3.4) on four of them; a few deals of other reps
// (Europe in the demo quarter, North and South China in the next quarter, so
// China's figures for the demo quarter are exactly the seed's); credit
// profiles, ERP invoices (some overdue), payments and two promises to pay.
//
// Idempotent: every entity carries an external id (or is recognised by what
// it belongs to) and is looked up before it is created; creates also carry a
// request id. A second run creates nothing and says so. The demo quarter is
// the calendar quarter (UTC; forecast's default --quarter_start_month=1) of
// the first load, found again from the funnel's close dates on later runs.

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"
#include "tools/salesopsctl/rates.h"

namespace salesops::ctl {
namespace {

// Prefix of every request id the loader sends (bump it when the dataset
// changes in a way that changes a request's content).
constexpr char kRequestPrefix[] = "salesops-demo-v1:";
// Prefix of every external id of demo data.
constexpr char kExternalPrefix[] = "demo:";
constexpr int kTreeDepth = 5;  // Global → region → area → area → team → rep
constexpr char kFunnelRepKey[] = "rep-li-na";

// ---- the dataset ----

struct NodeSpec {
  const char* key;
  const char* parent;  // "" = the root
  v1::OrgNodeKind kind;
  const char* name;
  const char* manager;
  int64_t quota;  // major units for the demo quarter; 0 = none (REP only)
};

constexpr v1::OrgNodeKind kGlobal = v1::ORG_NODE_KIND_GLOBAL;
constexpr v1::OrgNodeKind kRegion = v1::ORG_NODE_KIND_REGION;
constexpr v1::OrgNodeKind kArea = v1::ORG_NODE_KIND_AREA;
constexpr v1::OrgNodeKind kTeam = v1::ORG_NODE_KIND_TEAM;
constexpr v1::OrgNodeKind kRep = v1::ORG_NODE_KIND_REP;

// Parents before children. Quotas sit on reps; every other node's is the sum
// of its children's (SPEC §2.3).
const NodeSpec kNodes[] = {
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

const AccountSpec kAccounts[] = {
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

constexpr v1::ContactLevel kDecision = v1::CONTACT_LEVEL_DECISION;
constexpr v1::ContactLevel kManagement = v1::CONTACT_LEVEL_MANAGEMENT;
constexpr v1::ContactLevel kOperational = v1::CONTACT_LEVEL_OPERATIONAL;

// Bosses before their reports.
const ContactSpec kContacts[] = {
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
const OpportunitySpec kOpportunities[] = {
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

const RoleSpec kRoles[] = {
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

const InvoiceSpec kInvoices[] = {
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

// ---- helpers ----

absl::CivilDay FromDate(const v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

struct Quarter {
  int year = 0;
  int quarter = 0;  // 1..4
  absl::CivilDay first() const {
    return absl::CivilDay(absl::CivilMonth(year, (quarter - 1) * 3 + 1));
  }
  absl::CivilDay last() const { return next().first() - 1; }
  Quarter next() const {
    return quarter == 4 ? Quarter{year + 1, 1} : Quarter{year, quarter + 1};
  }
  std::string Name() const { return absl::StrCat(year, "-Q", quarter); }
};

Quarter QuarterOf(absl::CivilDay d) {
  return Quarter{static_cast<int>(d.year()), (d.month() - 1) / 3 + 1};
}

absl::CivilDay TodayUtc() {
  return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
}

std::string External(const std::string& kind, const std::string& key) {
  return absl::StrCat(kExternalPrefix, kind, ":", key);
}

std::string RequestId(const std::string& kind, const std::string& key) {
  return absl::StrCat(kRequestPrefix, kind, ":", key);
}

// The text stream for progress lines: stdout in table format, stderr
// otherwise (so json/csv output stays parseable).
std::ostream& Log(Env& env) {
  return env.format == Format::kTable ? *env.out : *env.err;
}

// Every page of a List RPC (`fetch` reads one); INTERNAL after kMaxPages.
absl::Status ListAll(const PageFetch& fetch) {
  return AllPages(fetch, kMaxPages,
                  absl::InternalError(absl::StrCat("listing did not end after ",
                                                   kMaxPages, " pages")));
}

// ---- finding what exists ----

// The demo's org nodes (by key) and the organization's root.
struct OrgState {
  std::map<std::string, v1::OrgNode> by_external_id;
  std::optional<v1::OrgNode> root;
};

absl::StatusOr<OrgState> ReadOrg(Connections& c) {
  OrgState state;
  RETURN_IF_ERROR(
      ListAll([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListOrgNodesRequest req;
        SetPage(page, &req);
        v1::ListOrgNodesResponse resp;
        RETURN_IF_ERROR(
            Check(c.accounts().ListOrgNodes(c.Context().get(), req, &resp)));
        for (const v1::OrgNode& n : resp.nodes()) {
          if (!n.external_id().empty()) {
            state.by_external_id[n.external_id()] = n;
          }
          if (n.parent_id().empty()) {
            state.root = n;
          }
        }
        return resp.next_page_token();
      }));
  return state;
}

// The id of the tree's top: the demo's Global node, else the organization's
// root; NOT_FOUND when there is no organization.
absl::StatusOr<std::string> TreeRoot(const OrgState& org) {
  auto it = org.by_external_id.find(External("org", "global"));
  if (it != org.by_external_id.end()) {
    return it->second.id();
  }
  if (org.root) {
    return org.root->id();
  }
  return absl::NotFoundError(
      "there is no organization yet: run `salesopsctl demo load` first");
}

// The opportunities owned by `owner_id` (and below it).
absl::StatusOr<std::vector<v1::Opportunity>> OpportunitiesOf(
    Connections& c, const std::string& owner_id) {
  std::vector<v1::Opportunity> out;
  RETURN_IF_ERROR(
      ListAll([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListOpportunitiesRequest req;
        req.add_owner_ids(owner_id);
        SetPage(page, &req);
        v1::ListOpportunitiesResponse resp;
        RETURN_IF_ERROR(Check(
            c.pipeline().ListOpportunities(c.Context().get(), req, &resp)));
        for (const v1::Opportunity& o : resp.opportunities()) {
          out.push_back(o);
        }
        return resp.next_page_token();
      }));
  return out;
}

// The demo quarter: the quarter of the funnel's close dates when the funnel
// exists, else the current one.
absl::StatusOr<Quarter> DemoQuarter(Connections& c, const OrgState& org) {
  auto rep = org.by_external_id.find(External("org", kFunnelRepKey));
  if (rep != org.by_external_id.end()) {
    ASSIGN_OR_RETURN(std::vector<v1::Opportunity> opps,
                     OpportunitiesOf(c, rep->second.id()));
    for (const v1::Opportunity& o : opps) {
      if (o.external_id().rfind(External("opp", "funnel-"), 0) == 0) {
        return QuarterOf(FromDate(o.expected_close_date()));
      }
    }
  }
  return QuarterOf(TodayUtc());
}

// ---- waiting ----

absl::StatusOr<uint64_t> FeedPosition(Connections& c,
                                      const std::string& service) {
  auto stub = v1::FeedService::NewStub(c.channel(service));
  v1::GetFeedPositionResponse resp;
  RETURN_IF_ERROR(Check(stub->GetFeedPosition(
      c.Context().get(), v1::GetFeedPositionRequest(), &resp)));
  return resp.sequence();
}

// Waits (up to 60 s) until forecast reflects everything pipeline and
// accounts committed so far, so the tree shows the data just loaded.
absl::Status WaitForForecast(Connections& c, const std::string& node_id,
                             const Quarter& q) {
  ASSIGN_OR_RETURN(const uint64_t pipeline, FeedPosition(c, "pipeline"));
  ASSIGN_OR_RETURN(const uint64_t accounts, FeedPosition(c, "accounts"));
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::string last;
  while (true) {
    v1::GetForecastRequest req;
    req.set_node_id(node_id);
    req.set_fiscal_year(q.year);
    req.set_fiscal_quarter(q.quarter);
    req.set_min_pipeline_sequence(pipeline);
    req.set_skip_children(true);
    v1::Forecast resp;
    auto ctx = c.Context();
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
    const grpc::Status s = c.forecast().GetForecast(ctx.get(), req, &resp);
    if (s.ok() && resp.accounts_sequence() >= accounts) {
      return absl::OkStatus();
    }
    if (!s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
        s.error_code() != grpc::StatusCode::UNAVAILABLE &&
        s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Check(s);
    }
    last = s.ok() ? absl::StrCat("accounts feed applied up to ",
                                 resp.accounts_sequence(), " of ", accounts)
                  : s.error_message();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("forecast did not catch up with pipeline (", pipeline,
                       ") and accounts (", accounts, ") within 60 s: ", last));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::Status PrintAddressesAndTree(Env& env, const std::string& root,
                                   const Quarter& q) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, addr] : env.conn->addresses()) {
    rows.push_back({name, addr});
  }
  Log(env) << "\nServices:\n";
  PrintCells(env, {"service", "address"}, rows);
  Log(env) << "\nForecast " << q.Name() << " ("
           << absl::FormatCivilTime(q.first()) << " .. "
           << absl::FormatCivilTime(q.last()) << "):\n";
  return PrintForecastTree(env, root, q.year, q.quarter, kTreeDepth);
}

// ---- the loader ----

class Loader {
 public:
  Loader(Env& env, bool verbose)
      : env_(env),
        verbose_(verbose),
        c_(*env.conn),
        exponent_(money::CurrencyExponent(env.currency)),
        today_(TodayUtc()) {}

  absl::Status Run() {
    RETURN_IF_ERROR(LoadOrg());
    RETURN_IF_ERROR(LoadQuotas());
    RETURN_IF_ERROR(LoadAccounts());
    RETURN_IF_ERROR(LoadContacts());
    RETURN_IF_ERROR(LoadCreditProfiles());
    RETURN_IF_ERROR(LoadOpportunities());
    RETURN_IF_ERROR(LoadRoles());
    RETURN_IF_ERROR(LoadInvoicesPaymentsPromises());
    return absl::OkStatus();
  }

  int created() const { return created_; }
  const std::string& root() const { return root_; }
  const Quarter& quarter() const { return quarter_; }

 private:
  v1::Money Major(int64_t major) const {
    int64_t minor = major;
    for (int i = 0; i < exponent_; ++i) {
      minor *= 10;
    }
    return money::Make(minor, env_.currency);
  }

  void Created(const std::string& what) {
    ++created_;
    if (verbose_) {
      Log(env_) << "  created " << what << "\n";
    }
  }

  const std::string& Node(const std::string& key) const {
    return nodes_.at(key);
  }

  // ---- org ----

  absl::Status LoadOrg() {
    ASSIGN_OR_RETURN(OrgState org, ReadOrg(c_));
    ASSIGN_OR_RETURN(quarter_, DemoQuarter(c_, org));
    for (const NodeSpec& spec : kNodes) {
      const std::string ext = External("org", spec.key);
      auto it = org.by_external_id.find(ext);
      if (it != org.by_external_id.end()) {
        nodes_[spec.key] = it->second.id();
        continue;
      }
      if (spec.parent[0] == '\0' && org.root) {
        // The organization has its own root: the demo hangs below it.
        nodes_[spec.key] = org.root->id();
        Log(env_) << "demo: using the existing root org node " << org.root->id()
                  << " (" << org.root->name() << ") as Global\n";
        continue;
      }
      v1::CreateOrgNodeRequest req;
      req.set_request_id(RequestId("org", spec.key));
      v1::OrgNode* n = req.mutable_node();
      n->set_kind(spec.kind);
      n->set_name(spec.name);
      n->set_manager_principal(spec.manager);
      n->set_external_id(ext);
      if (spec.parent[0] != '\0') {
        n->set_parent_id(Node(spec.parent));
      }
      v1::OrgNode resp;
      RETURN_IF_ERROR(
          Check(c_.accounts().CreateOrgNode(c_.Context().get(), req, &resp)));
      nodes_[spec.key] = resp.id();
      Created(absl::StrCat("org node ", spec.name));
    }
    root_ = Node("global");
    return absl::OkStatus();
  }

  absl::Status LoadQuotas() {
    for (const NodeSpec& spec : kNodes) {
      if (spec.quota <= 0) {
        continue;
      }
      v1::GetQuotaRequest get;
      get.set_node_id(Node(spec.key));
      get.set_fiscal_year(quarter_.year);
      get.set_fiscal_quarter(quarter_.quarter);
      v1::GetQuotaResponse have;
      RETURN_IF_ERROR(
          Check(c_.accounts().GetQuota(c_.Context().get(), get, &have)));
      if (have.has_explicit()) {
        continue;  // set by an earlier run (or by someone since): kept
      }
      v1::SetQuotaRequest req;
      req.set_node_id(Node(spec.key));
      req.set_fiscal_year(quarter_.year);
      req.set_fiscal_quarter(quarter_.quarter);
      *req.mutable_amount() = Major(spec.quota);
      v1::Quota resp;
      RETURN_IF_ERROR(
          Check(c_.accounts().SetQuota(c_.Context().get(), req, &resp)));
      Created(absl::StrCat("quota of ", spec.name, " for ", quarter_.Name()));
    }
    return absl::OkStatus();
  }

  // ---- accounts and contacts ----

  absl::Status LoadAccounts() {
    std::map<std::string, std::string> existing;  // external id → id
    RETURN_IF_ERROR(ListAll(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          v1::ListAccountsRequest req;
          SetPage(page, &req);
          v1::ListAccountsResponse resp;
          RETURN_IF_ERROR(Check(
              c_.accounts().ListAccounts(c_.Context().get(), req, &resp)));
          for (const v1::Account& a : resp.accounts()) {
            if (!a.external_id().empty()) {
              existing[a.external_id()] = a.id();
            }
          }
          return resp.next_page_token();
        }));
    for (const AccountSpec& spec : kAccounts) {
      const std::string ext = External("account", spec.key);
      if (auto it = existing.find(ext); it != existing.end()) {
        accounts_[spec.key] = it->second;
        continue;
      }
      v1::CreateAccountRequest req;
      req.set_request_id(RequestId("account", spec.key));
      v1::Account* a = req.mutable_account();
      a->set_name(spec.name);
      a->set_industry(spec.industry);
      a->set_size_band(spec.size);
      a->set_ownership_type(spec.ownership);
      a->set_region(spec.region);
      a->set_address(spec.address);
      a->set_website(spec.website);
      a->set_source_channel(spec.source);
      a->set_owner_node_id(Node(spec.owner));
      a->set_tier(spec.tier);
      a->set_purchase_potential(spec.potential);
      a->set_share_of_wallet(spec.share);
      a->set_relationship_stage(spec.relationship);
      a->set_external_id(ext);
      v1::Account resp;
      RETURN_IF_ERROR(
          Check(c_.accounts().CreateAccount(c_.Context().get(), req, &resp)));
      accounts_[spec.key] = resp.id();
      Created(absl::StrCat("account ", spec.name));
    }
    return absl::OkStatus();
  }

  absl::Status LoadContacts() {
    std::map<std::string, std::map<std::string, std::string>> existing;
    for (const AccountSpec& spec : kAccounts) {
      const std::string& account = accounts_.at(spec.key);
      RETURN_IF_ERROR(ListAll(
          [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
            v1::ListContactsRequest req;
            req.set_account_id(account);
            SetPage(page, &req);
            v1::ListContactsResponse resp;
            RETURN_IF_ERROR(Check(
                c_.accounts().ListContacts(c_.Context().get(), req, &resp)));
            for (const v1::Contact& ct : resp.contacts()) {
              if (!ct.external_id().empty()) {
                existing[spec.key][ct.external_id()] = ct.id();
              }
            }
            return resp.next_page_token();
          }));
    }
    for (const ContactSpec& spec : kContacts) {
      const std::string key = absl::StrCat(spec.account, "/", spec.key);
      const std::string ext = External("contact", key);
      auto& known = existing[spec.account];
      if (auto it = known.find(ext); it != known.end()) {
        contacts_[key] = it->second;
        continue;
      }
      v1::CreateContactRequest req;
      req.set_request_id(RequestId("contact", key));
      v1::Contact* ct = req.mutable_contact();
      ct->set_account_id(accounts_.at(spec.account));
      ct->set_name(spec.name);
      ct->set_title(spec.title);
      ct->set_department(spec.department);
      ct->set_function(spec.function);
      ct->set_level(spec.level);
      if (spec.reports_to[0] != '\0') {
        ct->set_reports_to_id(
            contacts_.at(absl::StrCat(spec.account, "/", spec.reports_to)));
      }
      ct->set_personal_style(spec.style);
      ct->set_relationship_depth(spec.depth);
      ct->set_notes(spec.notes);
      ct->set_external_id(ext);
      v1::Contact resp;
      RETURN_IF_ERROR(
          Check(c_.accounts().CreateContact(c_.Context().get(), req, &resp)));
      contacts_[key] = resp.id();
      Created(absl::StrCat("contact ", spec.name));
    }
    return absl::OkStatus();
  }

  // ---- credit profiles (before the USAGE deals: their receivables take
  // the profile's payment terms) ----

  absl::Status LoadCreditProfiles() {
    for (const AccountSpec& spec : kAccounts) {
      v1::GetCreditProfileRequest get;
      get.set_account_id(accounts_.at(spec.key));
      v1::CreditProfile have;
      const grpc::Status s =
          c_.credit().GetCreditProfile(c_.Context().get(), get, &have);
      if (s.ok()) {
        continue;
      }
      if (s.error_code() != grpc::StatusCode::NOT_FOUND) {
        return Check(s);
      }
      v1::SetCreditProfileRequest req;
      v1::CreditProfile* p = req.mutable_profile();
      p->set_account_id(accounts_.at(spec.key));
      *p->mutable_credit_limit() = Major(spec.credit_limit);
      p->set_payment_terms_days(spec.terms_days);
      p->set_risk_class(spec.risk);
      v1::CreditProfile resp;
      RETURN_IF_ERROR(
          Check(c_.credit().SetCreditProfile(c_.Context().get(), req, &resp)));
      Created(absl::StrCat("credit profile of ", spec.name));
    }
    return absl::OkStatus();
  }

  // ---- opportunities and buying centres ----

  absl::CivilDay CloseDate(const OpportunitySpec& spec) const {
    if (spec.due == Due::kNextQuarter) {
      return quarter_.next().first() + spec.close_in_days;
    }
    // Never before today (while the demo quarter is the current one) and
    // never after the quarter's last day.
    const absl::CivilDay start = std::max(today_, quarter_.first());
    return std::min(start + spec.close_in_days, quarter_.last());
  }

  absl::Status LoadOpportunities() {
    std::map<std::string, std::string> existing;  // external id → id
    ASSIGN_OR_RETURN(std::vector<v1::Opportunity> all,
                     OpportunitiesOf(c_, root_));
    for (const v1::Opportunity& o : all) {
      if (!o.external_id().empty()) {
        existing[o.external_id()] = o.id();
      }
    }
    for (const OpportunitySpec& spec : kOpportunities) {
      const std::string ext = External("opp", spec.key);
      if (auto it = existing.find(ext); it != existing.end()) {
        opportunities_[spec.key] = it->second;
        continue;
      }
      const absl::CivilDay close = CloseDate(spec);
      v1::CreateOpportunityRequest req;
      // The close date is part of the request: a retry the same day is the
      // same request, a run on another day (after a failed first one) a new
      // one (the external id still keeps it single).
      req.set_request_id(RequestId(
          "opp", absl::StrCat(spec.key, ":", absl::FormatCivilTime(close))));
      v1::Opportunity* o = req.mutable_opportunity();
      o->set_account_id(accounts_.at(spec.account));
      o->set_owner_node_id(Node(spec.owner));
      o->set_name(spec.name);
      *o->mutable_amount() = Major(spec.amount);
      *o->mutable_expected_close_date() = ToProto(close);
      o->set_stage_model_id("buying-cycle-6");
      // Created directly in its stage: no exit criteria, no credit check.
      o->set_stage_key(spec.stage);
      o->set_source_channel(spec.source);
      if (spec.competitor[0] == '\0') {
        o->set_competitors_unknown(true);
      } else {
        v1::Competitor* comp = o->add_competitors();
        comp->set_name(spec.competitor);
      }
      o->set_external_id(ext);
      v1::Opportunity resp;
      RETURN_IF_ERROR(Check(
          c_.pipeline().CreateOpportunity(c_.Context().get(), req, &resp)));
      opportunities_[spec.key] = resp.id();
      Created(absl::StrCat("opportunity ", spec.name, " (", spec.stage, ")"));
    }
    return absl::OkStatus();
  }

  std::string AccountOf(const std::string& opportunity_key) const {
    for (const OpportunitySpec& spec : kOpportunities) {
      if (opportunity_key == spec.key) {
        return spec.account;
      }
    }
    return "";
  }

  absl::Status LoadRoles() {
    std::map<std::string, std::set<std::string>> have;  // opp id → contacts
    for (const RoleSpec& spec : kRoles) {
      const std::string& opp = opportunities_.at(spec.opportunity);
      if (have.count(opp) == 0) {
        v1::ListContactRolesRequest req;
        req.set_opportunity_id(opp);
        req.set_include_removed(true);
        v1::ListContactRolesResponse resp;
        RETURN_IF_ERROR(Check(
            c_.pipeline().ListContactRoles(c_.Context().get(), req, &resp)));
        auto& set = have[opp];
        for (const v1::ContactRole& r : resp.roles()) {
          set.insert(r.contact_id());
        }
      }
      const std::string& contact = contacts_.at(
          absl::StrCat(AccountOf(spec.opportunity), "/", spec.contact));
      if (have[opp].count(contact) > 0) {
        continue;  // recorded by an earlier run (and maybe changed since)
      }
      v1::SetContactRoleRequest req;
      req.set_opportunity_id(opp);
      req.set_contact_id(contact);
      req.set_role(spec.role);
      req.set_attitude(spec.attitude);
      req.set_influence_weight_pct(spec.weight);
      v1::ContactRole resp;
      RETURN_IF_ERROR(
          Check(c_.pipeline().SetContactRole(c_.Context().get(), req, &resp)));
      have[opp].insert(contact);
      Created(absl::StrCat("buying role on ", spec.opportunity));
    }
    return absl::OkStatus();
  }

  // ---- receivables, payments and promises ----

  absl::StatusOr<std::vector<v1::Receivable>> Receivables(
      const std::string& account) {
    std::vector<v1::Receivable> out;
    RETURN_IF_ERROR(ListAll(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          v1::ListReceivablesRequest req;
          req.set_account_id(account);
          SetPage(page, &req);
          v1::ListReceivablesResponse resp;
          RETURN_IF_ERROR(Check(
              c_.credit().ListReceivables(c_.Context().get(), req, &resp)));
          for (const v1::Receivable& r : resp.receivables()) {
            out.push_back(r);
          }
          return resp.next_page_token();
        }));
    return out;
  }

  // The receivable posted with `external_id`, posting it when missing.
  absl::StatusOr<v1::Receivable> Invoice(const InvoiceSpec& spec) {
    const std::string& account = accounts_.at(spec.account);
    ASSIGN_OR_RETURN(std::vector<v1::Receivable> have, Receivables(account));
    for (const v1::Receivable& r : have) {
      if (r.external_id() == spec.external_id) {
        return r;
      }
    }
    v1::PostReceivableRequest req;
    req.set_external_id(spec.external_id);
    v1::Receivable* r = req.mutable_receivable();
    r->set_account_id(account);
    *r->mutable_amount() = Major(spec.amount);
    *r->mutable_issue_date() = ToProto(today_ - spec.issued_days_ago);
    v1::Receivable resp;
    RETURN_IF_ERROR(
        Check(c_.credit().PostReceivable(c_.Context().get(), req, &resp)));
    Created(absl::StrCat("receivable ", spec.external_id));
    return resp;
  }

  // Records a payment of `amount` on `receivable`, dated `date`, unless the
  // account already has one with `external_id`.
  absl::Status Payment(const v1::Receivable& receivable,
                       const std::string& external_id, int64_t amount,
                       absl::CivilDay date) {
    bool found = false;
    RETURN_IF_ERROR(ListAll(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          v1::ListPaymentsRequest req;
          req.set_account_id(receivable.account_id());
          SetPage(page, &req);
          v1::ListPaymentsResponse resp;
          RETURN_IF_ERROR(
              Check(c_.credit().ListPayments(c_.Context().get(), req, &resp)));
          for (const v1::Payment& p : resp.payments()) {
            found = found || p.external_id() == external_id;
          }
          return resp.next_page_token();
        }));
    if (found) {
      return absl::OkStatus();
    }
    v1::RecordPaymentRequest req;
    req.set_account_id(receivable.account_id());
    *req.mutable_amount() = Major(amount);
    *req.mutable_date() = ToProto(date);
    v1::Allocation* a = req.add_allocations();
    a->set_receivable_id(receivable.id());
    *a->mutable_amount() = Major(amount);
    req.set_external_id(external_id);
    v1::Payment resp;
    RETURN_IF_ERROR(
        Check(c_.credit().RecordPayment(c_.Context().get(), req, &resp)));
    Created(absl::StrCat("payment ", external_id));
    return absl::OkStatus();
  }

  // A promise made on `made` to pay `amount` of `receivable` by `promised`,
  // unless one exists for it. Returns whether it exists now.
  absl::StatusOr<bool> Promise(const v1::Receivable& receivable, int64_t amount,
                               v1::ExcuseCode excuse,
                               const std::string& contact,
                               const std::string& key, absl::CivilDay made,
                               absl::CivilDay promised) {
    bool found = false;
    RETURN_IF_ERROR(ListAll(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          v1::ListPromisesRequest req;
          req.set_account_id(receivable.account_id());
          SetPage(page, &req);
          v1::ListPromisesResponse resp;
          RETURN_IF_ERROR(
              Check(c_.credit().ListPromises(c_.Context().get(), req, &resp)));
          for (const v1::Promise& p : resp.promises()) {
            for (const std::string& id : p.receivable_ids()) {
              found = found || id == receivable.id();
            }
          }
          return resp.next_page_token();
        }));
    if (found) {
      return true;
    }
    if (receivable.state() != v1::RECEIVABLE_STATE_OPEN &&
        receivable.state() != v1::RECEIVABLE_STATE_PARTIALLY_PAID) {
      return false;  // nothing left to promise
    }
    v1::RecordPromiseRequest req;
    req.add_receivable_ids(receivable.id());
    *req.mutable_amount() = Major(amount);
    // Made days ago (collections history, as an ERP migration brings it):
    // credit judges it at its next run, the day after the promised date.
    *req.mutable_made_date() = ToProto(made);
    *req.mutable_promised_date() = ToProto(promised);
    req.set_contact_id(contact);
    req.set_excuse_code(excuse);
    req.set_request_id(RequestId(
        "promise", absl::StrCat(key, ":", absl::FormatCivilTime(made))));
    v1::Promise resp;
    RETURN_IF_ERROR(
        Check(c_.credit().RecordPromise(c_.Context().get(), req, &resp)));
    Created(absl::StrCat("promise to pay ", receivable.external_id()));
    return true;
  }

  absl::Status LoadInvoicesPaymentsPromises() {
    std::map<std::string, v1::Receivable> invoices;
    for (const InvoiceSpec& spec : kInvoices) {
      ASSIGN_OR_RETURN(invoices[spec.external_id], Invoice(spec));
    }
    // Jiangnan paid 120,000.00 of DEMO-INV-1001 ten days ago, promised nine
    // days ago the remaining 300,000.00 by five days ago, and paid nothing:
    // BROKEN, with an escalation task.
    const v1::Receivable& broken = invoices.at("DEMO-INV-1001");
    RETURN_IF_ERROR(Payment(broken, "DEMO-PAY-2001", 120'000, today_ - 10));
    ASSIGN_OR_RETURN(const v1::Receivable broken_now, Reread(broken.id()));
    RETURN_IF_ERROR(Promise(broken_now, 300'000,
                            v1::EXCUSE_CODE_APPROVAL_PENDING,
                            contacts_.at("jiangnan-steel/purchasing"), "broken",
                            today_ - 9, today_ - 5)
                        .status());
    // Suzhou promised DEMO-INV-1003 in full by three days ago and paid it
    // four days ago: KEPT.
    const v1::Receivable& kept = invoices.at("DEMO-INV-1003");
    ASSIGN_OR_RETURN(const bool promised,
                     Promise(kept, 260'000, v1::EXCUSE_CODE_PASSED_TO_FINANCE,
                             contacts_.at("suzhou-precision/finance"), "kept",
                             today_ - 9, today_ - 3));
    if (promised) {
      RETURN_IF_ERROR(Payment(kept, "DEMO-PAY-2002", 260'000, today_ - 4));
    }
    // Credit's daily run judges both now (and issues the dunning steps and
    // the hold the overdue invoices have reached); it is idempotent.
    v1::RunCollectionsResponse run;
    return Check(c_.credit().RunCollections(c_.Context().get(),
                                            v1::RunCollectionsRequest(), &run));
  }

  absl::StatusOr<v1::Receivable> Reread(const std::string& id) {
    v1::GetReceivableRequest req;
    req.set_id(id);
    v1::Receivable resp;
    RETURN_IF_ERROR(
        Check(c_.credit().GetReceivable(c_.Context().get(), req, &resp)));
    return resp;
  }

  Env& env_;
  const bool verbose_;
  Connections& c_;
  const int exponent_;
  const absl::CivilDay today_;
  int created_ = 0;
  Quarter quarter_;
  std::string root_;
  std::map<std::string, std::string> nodes_;          // key → id
  std::map<std::string, std::string> accounts_;       // key → id
  std::map<std::string, std::string> contacts_;       // account/key → id
  std::map<std::string, std::string> opportunities_;  // key → id
};

// ---- commands ----

absl::Status WaitServing(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(const int64_t seconds, args.Int("wait_seconds", 60));
  if (seconds < 1 || seconds > 3600) {
    return absl::InvalidArgumentError("--wait_seconds: must be 1..3600");
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(seconds);
  grpc::ChannelArguments channel_args;
  // Retry a refused connection quickly: the services are starting.
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  for (const auto& [name, addr] : env.conn->addresses()) {
    auto stub = grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(
        addr, grpc::InsecureChannelCredentials(), channel_args));
    std::string last;
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(1));
      if (!env.conn->token().empty()) {
        ctx.AddMetadata("authorization",
                        absl::StrCat("Bearer ", env.conn->token()));
      }
      grpc::health::v1::HealthCheckRequest req;  // "": the whole server
      grpc::health::v1::HealthCheckResponse resp;
      const grpc::Status s = stub->Check(&ctx, req, &resp);
      if (s.ok() &&
          resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        Log(env) << name << " " << addr << " SERVING\n";
        break;
      }
      last = s.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                          resp.status())
                    : s.error_message();
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat(name, " at ", addr, " is not SERVING after ", seconds,
                         " s (last answer: ", last, ")"));
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  }
  return absl::OkStatus();
}

absl::Status Load(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(const bool verbose, args.Bool("verbose", false));
  Loader loader(env, verbose);
  Log(env) << "demo: loading the demo dataset...\n";
  RETURN_IF_ERROR(loader.Run());
  ASSIGN_OR_RETURN(const int rates, LoadDemoRates(env, verbose));  // rates.h
  if (loader.created() + rates == 0) {
    Log(env) << "demo: demo data already loaded; nothing changed\n";
  } else {
    Log(env) << "demo: created " << loader.created() + rates
             << " entities (hierarchy, quotas, accounts, contacts, credit "
                "profiles, 22 opportunities, buying centres, invoices, "
                "payments, promises, dated exchange rates)\n";
  }
  const Quarter& q = loader.quarter();
  Log(env) << "demo: Li Na (East China) was given the seed funnel of SPEC §7 "
              "for "
           << q.Name()
           << ": 18 open opportunities, weighted 3,648,000.00 against a "
              "5,000,000.00 quota.\n"
              "demo: promises to pay: DEMO-INV-1003 (paid in time) KEPT, "
              "DEMO-INV-1001 (unpaid) BROKEN with an escalation task.\n";
  RETURN_IF_ERROR(WaitForForecast(*env.conn, loader.root(), q));
  return PrintAddressesAndTree(env, loader.root(), q);
}

absl::Status Tree(const Args& args, Env& env) {
  Connections& c = *env.conn;
  ASSIGN_OR_RETURN(OrgState org, ReadOrg(c));
  ASSIGN_OR_RETURN(const std::string root, TreeRoot(org));
  ASSIGN_OR_RETURN(Quarter q, DemoQuarter(c, org));
  ASSIGN_OR_RETURN(const int64_t year, args.Int("year", q.year));
  ASSIGN_OR_RETURN(const int64_t quarter, args.Int("quarter", q.quarter));
  if (quarter < 1 || quarter > 4) {
    return absl::InvalidArgumentError("--quarter: must be 1..4");
  }
  if (year < 1 || year > 9999) {
    return absl::InvalidArgumentError("--year: must be 1..9999");
  }
  q = Quarter{static_cast<int>(year), static_cast<int>(quarter)};
  RETURN_IF_ERROR(WaitForForecast(c, root, q));
  return PrintAddressesAndTree(env, root, q);
}

}  // namespace

void RegisterDemoCommands(Registry& r) {
  r.Add(Command{"demo",
                "wait",
                "[--wait_seconds=60]",
                "wait until all four services report SERVING (grpc health)",
                {"wait_seconds"},
                WaitServing});
  r.Add(
      Command{"demo",
              "load",
              "[--verbose]",
              "load the demo dataset once (idempotent; --verbose lists what it "
              "creates), then print the service addresses and the forecast "
              "tree",
              {"verbose"},
              Load});
  r.Add(Command{"demo",
                "tree",
                "[--year=YYYY --quarter=N]",
                "print the service addresses and the forecast tree from the "
                "top (default: the demo quarter)",
                {"year", "quarter"},
                Tree});
}

}  // namespace salesops::ctl
