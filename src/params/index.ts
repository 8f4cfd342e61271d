export {
  defineParams, int, num, bool, choice, Params, paramGroups,
  type ParamSpec, type IntSpec, type NumberSpec, type BoolSpec, type ChoiceSpec, type ParamGroup,
  type GroupValues, type Overrides, type ParamRow,
} from './registry';
export { PARAM_MESSAGES } from './messages';
