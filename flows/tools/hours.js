// A `handler:` tool for receptionist.yaml. voicebot calls it with the
// arguments the model chose (already checked against the tool's params) and
// the call's facts; whatever it returns goes back to the model and is
// available to templates as {{tools.opening_hours.FIELD}}.
const HOURS = {
  monday: 'eight to six',
  tuesday: 'eight to six',
  wednesday: 'eight to six',
  thursday: 'eight to eight',
  friday: 'eight to four',
  saturday: 'nine to one',
  sunday: 'closed',
};

export function openingHours(args, ctx) {
  const day = String(args.day).toLowerCase();
  return { day, hours: HOURS[day] ?? 'unknown', caller: ctx.call.from };
}
