/* Field schemas of Zoho's standard modules (the subset the emulator stores). */
#include "emu.h"

#include <stdlib.h>
#include <string.h>

typedef struct { const char *name; emu_ftype type; const char *lookup; } fdef;
typedef struct {
    const char *api, *singular, *plural;
    const char *name_field, *name_field2;
    fdef f[10];
} mdef;

static const char *const deal_stages[] = {
    "Qualification", "Needs Analysis", "Value Proposition", "Negotiation/Review",
    "Closed Won", "Closed Lost", NULL };
static const char *const lead_status[] = {
    "Not Contacted", "Attempted to Contact", "Contacted", "Qualified", "Lost Lead", NULL };
static const char *const sources[] = {
    "Advertisement", "Cold Call", "Employee Referral", "Partner", "Web Download", "Trade Show",
    NULL };

static const mdef std_modules[] = {
    { "Leads", "Lead", "Leads", "Last_Name", "First_Name", {
        { "First_Name", EMU_F_TEXT, NULL }, { "Last_Name", EMU_F_TEXT, NULL },
        { "Company", EMU_F_TEXT, NULL }, { "Email", EMU_F_EMAIL, NULL },
        { "Lead_Status", EMU_F_PICKLIST, NULL }, { "Lead_Source", EMU_F_PICKLIST, NULL },
        { "Annual_Revenue", EMU_F_CURRENCY, NULL }, { NULL, 0, NULL } } },
    { "Accounts", "Account", "Accounts", "Account_Name", NULL, {
        { "Account_Name", EMU_F_TEXT, NULL }, { "Industry", EMU_F_PICKLIST, NULL },
        { "Phone", EMU_F_PHONE, NULL }, { "Website", EMU_F_WEBSITE, NULL },
        { "Billing_City", EMU_F_TEXT, NULL }, { "Annual_Revenue", EMU_F_CURRENCY, NULL },
        { NULL, 0, NULL } } },
    { "Contacts", "Contact", "Contacts", "Last_Name", "First_Name", {
        { "First_Name", EMU_F_TEXT, NULL }, { "Last_Name", EMU_F_TEXT, NULL },
        { "Email", EMU_F_EMAIL, NULL }, { "Phone", EMU_F_PHONE, NULL },
        { "Account_Name", EMU_F_LOOKUP, "Accounts" }, { NULL, 0, NULL } } },
    { "Deals", "Deal", "Deals", "Deal_Name", NULL, {
        { "Deal_Name", EMU_F_TEXT, NULL }, { "Stage", EMU_F_PICKLIST, NULL },
        { "Amount", EMU_F_CURRENCY, NULL }, { "Closing_Date", EMU_F_DATE, NULL },
        { "Account_Name", EMU_F_LOOKUP, "Accounts" }, { "Probability", EMU_F_INTEGER, NULL },
        { "Lead_Source", EMU_F_PICKLIST, NULL }, { "Type", EMU_F_PICKLIST, NULL },
        { NULL, 0, NULL } } },
    { "Tasks", "Task", "Tasks", "Subject", NULL, {
        { "Subject", EMU_F_TEXT, NULL }, { "Status", EMU_F_PICKLIST, NULL },
        { "Due_Date", EMU_F_DATE, NULL }, { NULL, 0, NULL } } },
    { "Cases", "Case", "Cases", "Subject", NULL, {
        { "Subject", EMU_F_TEXT, NULL }, { "Status", EMU_F_PICKLIST, NULL },
        { "Priority", EMU_F_PICKLIST, NULL }, { NULL, 0, NULL } } },
    { "Solutions", "Solution", "Solutions", "Solution_Title", NULL, {
        { "Solution_Title", EMU_F_TEXT, NULL }, { "Status", EMU_F_PICKLIST, NULL },
        { NULL, 0, NULL } } },
    { "Vendors", "Vendor", "Vendors", "Vendor_Name", NULL, {
        { "Vendor_Name", EMU_F_TEXT, NULL }, { "Email", EMU_F_EMAIL, NULL },
        { NULL, 0, NULL } } },
    { "Price_Books", "Price Book", "Price Books", "Price_Book_Name", NULL, {
        { "Price_Book_Name", EMU_F_TEXT, NULL }, { "Active", EMU_F_BOOLEAN, NULL },
        { NULL, 0, NULL } } },
    { "Quotes", "Quote", "Quotes", "Subject", NULL, {
        { "Subject", EMU_F_TEXT, NULL }, { "Quote_Stage", EMU_F_PICKLIST, NULL },
        { "Grand_Total", EMU_F_CURRENCY, NULL }, { NULL, 0, NULL } } },
    { "Sales_Orders", "Sales Order", "Sales Orders", "Subject", NULL, {
        { "Subject", EMU_F_TEXT, NULL }, { "Status", EMU_F_PICKLIST, NULL },
        { "Grand_Total", EMU_F_CURRENCY, NULL }, { NULL, 0, NULL } } },
    { "Purchase_Orders", "Purchase Order", "Purchase Orders", "Subject", NULL, {
        { "Subject", EMU_F_TEXT, NULL }, { "Status", EMU_F_PICKLIST, NULL },
        { "Grand_Total", EMU_F_CURRENCY, NULL }, { NULL, 0, NULL } } },
    { "Invoices", "Invoice", "Invoices", "Subject", NULL, {
        { "Subject", EMU_F_TEXT, NULL }, { "Status", EMU_F_PICKLIST, NULL },
        { "Grand_Total", EMU_F_CURRENCY, NULL }, { NULL, 0, NULL } } },
    { "Products", "Product", "Products", "Product_Name", NULL, {
        { "Product_Name", EMU_F_TEXT, NULL }, { "Product_Code", EMU_F_TEXT, NULL },
        { "Unit_Price", EMU_F_CURRENCY, NULL }, { NULL, 0, NULL } } },
};

static void set_picklist(emu_field *f, const char *const *vals)
{
    size_t n = 0;
    while (vals[n]) n++;
    f->picklist = emu_xcalloc(n, sizeof *f->picklist);
    for (size_t i = 0; i < n; i++) f->picklist[i] = emu_strdup(vals[i]);
    f->npick = n;
}

void emu_schema_standard(emu_org *o)
{
    for (size_t i = 0; i < sizeof std_modules / sizeof *std_modules; i++) {
        const mdef *d = &std_modules[i];
        emu_module *m = emu_org_add_module(o, d->api, false);
        free(m->singular); m->singular = emu_strdup(d->singular);
        free(m->plural); m->plural = emu_strdup(d->plural);
        for (const fdef *f = d->f; f->name; f++) {
            emu_field *fld = emu_module_add_field(m, f->name, f->type, f->lookup);
            if (strcmp(f->name, "Stage") == 0) set_picklist(fld, deal_stages);
            else if (strcmp(f->name, "Lead_Status") == 0) set_picklist(fld, lead_status);
            else if (strcmp(f->name, "Lead_Source") == 0) set_picklist(fld, sources);
        }
        m->name_field = emu_module_field(m, d->name_field);
        m->name_field2 = d->name_field2 ? emu_module_field(m, d->name_field2) : -1;
    }
}
